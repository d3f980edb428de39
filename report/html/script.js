// hsanalyze report: sorting, filtering and paging of the flow table, and
// the ladder diagram of a selected flow. Everything shown is set as text
// (textContent, createTextNode): nothing from the data becomes markup.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("hs-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var PAGE = 100;

  // Row fields (see rows.go).
  var T = 0, C = 1, CP = 2, S = 3, SP = 4, V = 5, EV = 6, SYN = 7, ACK = 8, LAD = 9, TUN = 10, WHY = 11;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function pad(n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; }

  // Capture times: origin_us + the row's µs, formatted in UTC.
  function clock(us) {
    var total = D.origin_us + Math.floor(us);
    var frac = us - Math.floor(us);
    var ms = Math.floor(total / 1000), micro = total - ms * 1000;
    var d = new Date(ms);
    return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." +
      pad(d.getUTCMilliseconds(), 3) + pad(micro, 3) + (frac > 0 ? pad(Math.round(frac * 1000), 3) : "");
  }
  function endpoint(a, p) {
    var s = D.addrs[a];
    return (s.indexOf(":") >= 0 ? "[" + s + "]" : s) + ":" + p;
  }
  function ms(us) { return us == null ? "–" : (us / 1000).toFixed(3) + " ms"; }
  function codeName(c) { return D.codes[c] ? D.codes[c][0] : "code " + c; }
  function codesOf(r) {
    var seen = [], ev = r[EV];
    for (var i = 0; i < ev.length; i++) {
      var n = codeName(ev[i][0]);
      if (seen.indexOf(n) < 0) seen.push(n);
    }
    return seen;
  }
  function flagText(bits) {
    var out = [];
    // Named in the order the terminal timeline uses.
    var order = ["SYN", "ACK", "FIN", "RST", "PSH", "URG", "ECE", "CWR", "NS"];
    for (var j = 0; j < order.length; j++) {
      for (var i = 0; i < D.flags.length; i++) {
        if (D.flags[i] === order[j] && (bits & (1 << i))) out.push(order[j]);
      }
    }
    return out.length ? out.join("|") : "none";
  }
  function hasFlag(bits, name) { var i = D.flags.indexOf(name); return i >= 0 && (bits & (1 << i)) !== 0; }

  // --- flow table --------------------------------------------------------
  var rows = [], view = [], page = 0, sortKey = "time", sortDir = 1;
  var tbody = document.getElementById("flow-rows");
  var count = document.getElementById("flow-count");
  var fVerdict = document.getElementById("f-verdict"), fAddr = document.getElementById("f-addr"),
    fPort = document.getElementById("f-port"), fCode = document.getElementById("f-code");

  var keys = {
    time: function (r) { return r[T]; },
    client: function (r) { return D.addrs[r[C]] + ":" + pad(r[CP], 5); },
    server: function (r) { return D.addrs[r[S]] + ":" + pad(r[SP], 5); },
    verdict: function (r) { return D.verdicts[r[V]]; },
    anomalies: function (r) { return codesOf(r).join(" "); },
    reason: function (r) { return r[WHY] || ""; },
    syn: function (r) { return r[SYN] == null ? Infinity : r[SYN]; },
    ack: function (r) { return r[ACK] == null ? Infinity : r[ACK]; }
  };

  function apply() {
    var v = fVerdict.value, a = fAddr.value.trim(), p = fPort.value.trim(), c = fCode.value;
    var vi = D.verdicts.indexOf(v), pn = p === "" ? -1 : Number(p);
    // A whole address matches exactly; anything else as a substring.
    var ai = a ? D.addrs.indexOf(a) : -1;
    view = rows.filter(function (r) {
      if (v === "problem" ? r[V] === 0 : (vi >= 0 && r[V] !== vi)) return false;
      if (ai >= 0 ? r[C] !== ai && r[S] !== ai : a && D.addrs[r[C]].indexOf(a) < 0 && D.addrs[r[S]].indexOf(a) < 0) return false;
      if (pn >= 0 && r[CP] !== pn && r[SP] !== pn) return false;
      if (c && codesOf(r).indexOf(c) < 0) return false;
      return true;
    });
    var key = keys[sortKey];
    view.sort(function (x, y) {
      var kx = key(x), ky = key(y);
      if (kx < ky) return -sortDir;
      if (kx > ky) return sortDir;
      return x[T] - y[T];
    });
    page = 0;
    draw();
  }

  function draw() {
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    page = Math.min(page, pages - 1);
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    var start = page * PAGE, end = Math.min(view.length, start + PAGE);
    for (var i = start; i < end; i++) {
      var r = view[i], tr = el("tr", { tabindex: "0", "aria-selected": "false" });
      tr.hsRow = r;
      tr.appendChild(el("td", null, clock(r[T])));
      tr.appendChild(el("td", null, endpoint(r[C], r[CP])));
      tr.appendChild(el("td", null, endpoint(r[S], r[SP]) + (r[TUN] ? " (in " + r[TUN] + ")" : "")));
      var vt = el("td"), vn = D.verdicts[r[V]];
      vt.appendChild(el("span", { "class": "sw v-" + vn, "aria-hidden": "true" }));
      vt.appendChild(document.createTextNode(vn));
      tr.appendChild(vt);
      tr.appendChild(el("td", null, codesOf(r).join(" ")));
      tr.appendChild(el("td", { "class": "num" }, ms(r[SYN])));
      tr.appendChild(el("td", { "class": "num" }, ms(r[ACK])));
      tr.appendChild(el("td", { "class": "why" }, r[WHY] || ""));
      tbody.appendChild(tr);
    }
    if (view.length === 0) {
      var td = el("td", { colspan: "8" }, "No embedded flow matches the filters.");
      var tr0 = el("tr"); tr0.appendChild(td); tbody.appendChild(tr0);
    }
    count.textContent = view.length === rows.length
      ? "Showing " + (end > start ? start + 1 : 0) + "–" + end + " of all " + rows.length + " embedded flows (" + D.problems + " problem flows, " + (rows.length - D.problems) + " complete)."
      : "Showing " + (end > start ? start + 1 : 0) + "–" + end + " of " + view.length + " matching flows (of " + rows.length + " embedded).";
    document.getElementById("page-of").textContent = "page " + (page + 1) + " of " + pages;
    document.getElementById("prev").disabled = page === 0;
    document.getElementById("next").disabled = page >= pages - 1;
  }

  // Sort buttons in the header cells.
  var ths = document.querySelectorAll("#flow-table thead th");
  Array.prototype.forEach.call(ths, function (th) {
    var b = el("button", { type: "button" }, th.textContent);
    b.setAttribute("aria-label", "Sort by " + th.textContent);
    th.textContent = "";
    th.appendChild(b);
    b.addEventListener("click", function () {
      var k = th.getAttribute("data-key");
      sortDir = k === sortKey ? -sortDir : 1;
      sortKey = k;
      Array.prototype.forEach.call(ths, function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      apply();
    });
  });

  [fVerdict, fCode].forEach(function (e) { e.addEventListener("change", apply); });
  [fAddr, fPort].forEach(function (e) { e.addEventListener("input", apply); });
  document.getElementById("filters").addEventListener("reset", function () { setTimeout(apply, 0); });
  document.getElementById("prev").addEventListener("click", function () { page--; draw(); });
  document.getElementById("next").addEventListener("click", function () { page++; draw(); });

  function pick(tr) {
    if (!tr || !tr.hsRow) return;
    Array.prototype.forEach.call(tbody.querySelectorAll("tr[aria-selected=true]"), function (o) { o.setAttribute("aria-selected", "false"); });
    tr.setAttribute("aria-selected", "true");
    ladder(tr.hsRow);
  }
  tbody.addEventListener("click", function (e) { pick(e.target.closest("tr")); });
  tbody.addEventListener("keydown", function (e) {
    var tr = e.target.closest("tr");
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(tr); }
    else if (e.key === "ArrowDown" && tr && tr.nextElementSibling) { e.preventDefault(); tr.nextElementSibling.focus(); }
    else if (e.key === "ArrowUp" && tr && tr.previousElementSibling) { e.preventDefault(); tr.previousElementSibling.focus(); }
  });

  // Links elsewhere in the page that filter the table.
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter-addr],[data-filter-code]"), function (a) {
    a.addEventListener("click", function () {
      fVerdict.value = ""; fPort.value = "";
      var addr = a.getAttribute("data-filter-addr"), code = a.getAttribute("data-filter-code");
      if (addr) {
        // An endpoint "addr:port" or a bare address.
        var m = /^\[(.*)\]:(\d+)$/.exec(addr) || /^([^:]*):(\d+)$/.exec(addr);
        if (m) { fAddr.value = m[1]; fPort.value = m[2]; } else fAddr.value = addr;
        fCode.value = "";
      }
      if (code) { fCode.value = code; fAddr.value = ""; }
      apply();
    });
  });

  // Links that open one flow's ladder: data-open is "client server [code]",
  // the earliest embedded flow between those endpoints (raising code).
  Array.prototype.forEach.call(document.querySelectorAll("[data-open]"), function (a) {
    a.addEventListener("click", function (e) {
      var p = a.getAttribute("data-open").split(" "), best = null;
      rows.forEach(function (r) {
        if (endpoint(r[C], r[CP]) !== p[0] || endpoint(r[S], r[SP]) !== p[1]) return;
        if (p[2] && codesOf(r).indexOf(p[2]) < 0) return;
        if (!best || r[T] < best[T]) best = r;
      });
      if (!best) return;
      e.preventDefault();
      // Show its row, selected, in the table, then its ladder.
      fVerdict.value = ""; fCode.value = "";
      fAddr.value = D.addrs[best[C]]; fPort.value = String(best[CP]);
      apply();
      var tr = Array.prototype.filter.call(tbody.rows, function (t) { return t.hsRow === best; })[0];
      if (tr) pick(tr); else ladder(best);
    });
  });

  // --- ladder ------------------------------------------------------------
  var box = document.getElementById("ladder"), body = document.getElementById("ladder-body");

  // A raw number as relative (raw), relative to isn when it is known.
  function num(v, isn) { return isn == null ? String(v) : ((v - isn) >>> 0) + " (" + v + ")"; }
  // A ladder's seq and ack are stored relative to the ISN when it is known.
  function relNum(v, isn) { return isn == null ? String(v) : v + " (" + ((v + isn) >>> 0) + ")"; }
  function segEv(s) { return s[10] || []; }
  function evText(e, L, fromClient) {
    var name = codeName(e[0]), t = name;
    if (e[3] != null) {
      if (e[2] === "flags") t += ": flags seen " + flagText(e[3]) + ", expected " + flagText(e[4]);
      else {
        // Relative to the ISN the field counts from, when known.
        var isn = null;
        if (L && (e[2] === "ack" || e[2] === "seq")) {
          var own = fromClient ? L.ci : L.si, peer = fromClient ? L.si : L.ci;
          isn = e[2] === "seq" ? own : peer;
        }
        t += ": " + e[2] + " seen " + num(e[3], isn) + ", expected " + num(e[4], isn);
      }
    }
    return t;
  }

  function ladder(r) {
    while (body.firstChild) body.removeChild(body.firstChild);
    box.hidden = false;
    var head = document.getElementById("ladder-h");
    head.textContent = "Ladder: " + endpoint(r[C], r[CP]) + " → " + endpoint(r[S], r[SP]) + ", " + D.verdicts[r[V]];
    var L = r[LAD] >= 0 ? D.ladders[r[LAD]] : null;
    var info = el("p");
    var parts = ["first segment " + clock(r[T]) + " UTC"];
    if (r[TUN]) parts.push("tunnel " + r[TUN]);
    if (L) {
      parts.push("Community ID " + L.cid);
      parts.push("client ISN " + (L.ci == null ? "not captured" : L.ci));
      parts.push("server ISN " + (L.si == null ? "not captured" : L.si));
      parts.push("final states: client " + D.states[L.cs] + ", server " + D.states[L.ss]);
      if (L.close) parts.push("closed: " + L.close);
    }
    info.textContent = parts.join("; ") + ".";
    if (r[WHY]) body.appendChild(el("p", { "class": "reason" }, "Why " + D.verdicts[r[V]] + ": " + r[WHY]));
    body.appendChild(info);
    var ev = r[EV];
    if (ev.length) {
      var ul = el("ul", { "class": "evidence" });
      ev.forEach(function (e) {
        var seg = L && L.segs.filter(function (s) { return s[1] === e[1]; })[0];
        var li = el("li", { "class": D.codes[e[0]] && D.codes[e[0]][1] ? "fatal" : "" },
          "frame " + e[1] + (D.files.length > 1 ? " of " + D.files[e[5]] : "") + ": " + evText(e, L, seg ? seg[2] === 1 : true) +
          " — " + (D.codes[e[0]] ? D.codes[e[0]][2] : ""));
        ul.appendChild(li);
      });
      body.appendChild(ul);
    }
    if (!L) {
      var why = r[V] === 0 ? "The page keeps segments only for problem flows, not for complete ones"
        : "No segments were kept for this flow (the page's ladder budget was spent)";
      body.appendChild(el("p", null, why + "; hsanalyze --flow " +
        endpoint(r[C], r[CP]) + "-" + endpoint(r[S], r[SP]) + " prints its timeline."));
      head.focus();
      return;
    }
    body.appendChild(drawLadder(r, L));
    body.appendChild(segTable(L));
    if (L.more) body.appendChild(el("p", { "class": "note" }, L.more + " later segments are not shown (a ladder keeps the first 16)."));
    head.focus();
  }

  function segLabel(s, L) {
    var fromClient = s[2] === 1;
    var own = fromClient ? L.ci : L.si, peer = fromClient ? L.si : L.ci;
    var t = flagText(s[3]) + "  seq " + relNum(s[4], own);
    if (hasFlag(s[3], "ACK")) t += "  ack " + relNum(s[5], peer);
    t += "  win " + s[6] + "  len " + s[7];
    if (s[11]) t = "ICMP error quoting " + t;
    return t;
  }

  function drawLadder(r, L) {
    var W = 920, cx = 170, sx = 750, top = 56, step = 64, n = L.segs.length;
    var bad = 0;
    L.segs.forEach(function (s) { bad += segEv(s).length; });
    var H = top + n * step + 30 + bad * 16;
    var svg = sv("svg", { "class": "ladder", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-labelledby": "ladder-t" });
    svg.appendChild(sv("title", { id: "ladder-t" }, "Ladder diagram of " + n + " segments between client " + endpoint(r[C], r[CP]) + " and server " + endpoint(r[S], r[SP])));
    var defs = sv("defs");
    [["arrow", "head"], ["arrow-bad", "head bad"]].forEach(function (m) {
      var mk = sv("marker", { id: m[0], viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "10", markerHeight: "10", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" });
      mk.appendChild(sv("path", { d: "M0,0 L10,5 L0,10 z", "class": m[1] }));
      defs.appendChild(mk);
    });
    svg.appendChild(defs);
    svg.appendChild(sv("text", { x: cx, y: 18, "text-anchor": "middle", "class": "endpoint" }, "client " + endpoint(r[C], r[CP])));
    svg.appendChild(sv("text", { x: sx, y: 18, "text-anchor": "middle", "class": "endpoint" }, "server " + endpoint(r[S], r[SP])));
    svg.appendChild(sv("line", { x1: cx, y1: 28, x2: cx, y2: H - 10, "class": "life" }));
    svg.appendChild(sv("line", { x1: sx, y1: 28, x2: sx, y2: H - 10, "class": "life" }));
    var y = top;
    L.segs.forEach(function (s) {
      var fromClient = s[2] === 1, isBad = segEv(s).length > 0;
      var x1 = fromClient ? cx : sx, x2 = fromClient ? sx : cx, y2 = y + step - 24;
      svg.appendChild(sv("text", { x: 8, y: y + 4, "class": "time" }, "+" + (s[0] / 1000).toFixed(3) + " ms"));
      svg.appendChild(sv("text", { x: 8, y: y + 18, "class": "time" }, "frame " + s[1]));
      var ln = sv("line", { x1: x1, y1: y, x2: x2, y2: y2, "class": "seg" + (isBad ? " bad" : ""), "marker-end": "url(#" + (isBad ? "arrow-bad" : "arrow") + ")" });
      svg.appendChild(ln);
      // Above the whole arrow, so that the line never crosses the label.
      var lbl = sv("text", { x: (cx + sx) / 2, y: Math.min(y, y2) - 5, "text-anchor": "middle", "class": isBad ? "bad" : "" }, segLabel(s, L));
      svg.appendChild(lbl);
      // Each endpoint's state after the segment, beside its time line.
      svg.appendChild(sv("text", { x: cx - 8, y: y2 + 4, "text-anchor": "end", "class": "state" }, D.states[s[8]]));
      svg.appendChild(sv("text", { x: sx + 8, y: y2 + 4, "text-anchor": "start", "class": "state" }, D.states[s[9]]));
      y += step;
      segEv(s).forEach(function (e) {
        svg.appendChild(sv("text", { x: (cx + sx) / 2, y: y - 14, "text-anchor": "middle", "class": "bad" }, "⚠ " + evText(e, L, fromClient)));
        y += 16;
      });
    });
    return svg;
  }

  function segTable(L) {
    var t = el("table", { "class": "segs" });
    t.appendChild(el("caption", null, "The segments of the ladder"));
    var h = el("tr");
    ["t (ms)", "frame", "direction", "flags", "seq rel (raw)", "ack rel (raw)", "win", "len", "client state", "server state", "anomaly (seen, expected)"].forEach(function (x) {
      h.appendChild(el("th", { scope: "col" }, x));
    });
    var th = el("thead"); th.appendChild(h); t.appendChild(th);
    var tb = el("tbody");
    L.segs.forEach(function (s) {
      var fromClient = s[2] === 1, own = fromClient ? L.ci : L.si, peer = fromClient ? L.si : L.ci;
      var tr = el("tr", segEv(s).length ? { "class": "bad" } : null);
      [(s[0] / 1000).toFixed(3), s[1], fromClient ? "client → server" : "server → client", (s[11] ? "ICMP: " : "") + flagText(s[3]),
        relNum(s[4], own), hasFlag(s[3], "ACK") ? relNum(s[5], peer) : "–", s[6], s[7], D.states[s[8]], D.states[s[9]],
        segEv(s).map(function (e) { return evText(e, L, fromClient); }).join("; ")].forEach(function (x) {
        tr.appendChild(el("td", null, String(x)));
      });
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    return t;
  }

  // Flows and ladders come gzipped and base64-encoded (page.go, packed).
  function unpack(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }
  count.textContent = "Unpacking the embedded flows…";
  if (typeof DecompressionStream !== "function") {
    count.textContent = "This browser cannot unpack the embedded flows (it lacks DecompressionStream): the table shows the earliest problem flows only.";
    return;
  }
  unpack(D.packed).then(function (p) {
    rows = D.flows = p.flows;
    D.ladders = p.ladders;
    Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (e) { e.hidden = false; });
    document.documentElement.setAttribute("data-ready", "true");
    apply();
  }, function (err) {
    count.textContent = "Could not unpack the embedded flows: " + err;
  });
})();
