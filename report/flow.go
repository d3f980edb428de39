package report

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/internal/communityid"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// AppendFlowJSON appends f as one JSON object with the Columns as keys; its
// community_id uses seed 0.
func AppendFlowJSON(dst []byte, f *reassembly.Flow) []byte {
	return appendFlow(dst, f, false, 0)
}

// appendFlow appends f's fields in Columns order: as a JSON object, or as
// a CSV row when csv is set. seed is the Community ID seed.
func appendFlow(dst []byte, f *reassembly.Flow, csv bool, seed uint16) []byte {
	e := flowEncoder{csv: csv, seed: seed}
	return e.append(dst, f)
}

// flowEncoder writes flows as appendFlow does, keeping what consecutive
// flows share (the timestamps' date and time of day). The zero value
// writes JSON with seed 0.
type flowEncoder struct {
	csv    bool
	seed   uint16 // Community ID seed
	stamps stampCache
}

// append appends f. It writes each value in place, after its column's
// key (made from Columns: TestJSONKeys checks the output), without closures
// or interface calls: this is the cost of every flow of ndjson, json and
// csv.
func (e *flowEncoder) append(dst []byte, f *reassembly.Flow) []byte {
	w := fieldAppender{b: dst, csv: e.csv, keys: &memberKeys, stamps: &e.stamps}
	if e.csv {
		w.keys = &csvKeys
	}
	seed := e.seed
	w.key(colClientIP).addr(f.Client.Addr())
	w.key(colClientPort).uint(uint64(f.Client.Port()))
	w.key(colServerIP).addr(f.Server.Addr())
	w.key(colServerPort).uint(uint64(f.Server.Port()))
	w.key(colVerdict).plain(f.Verdict.String())
	w.b = appendAnomalies(w.key(colAnomalies).list(), f.Anomalies)
	w.endList()
	w.key(colClientISN).optUint(uint64(f.ClientISN), f.HasClientISN)
	w.key(colServerISN).optUint(uint64(f.ServerISN), f.HasServerISN)
	w.b = appendEvidence(w.key(colEvidence).list(), f.Evidence)
	w.endList()
	w.key(colFirstTS).time(f.FirstTS)
	w.key(colSYNToSYNACKMs).millis(f.SYNToSYNACK, f.HasSYNToSYNACK)
	w.key(colSYNACKToACKMs).millis(f.SYNACKToACK, f.HasSYNACKToACK)
	w.key(colLastTS).time(f.LastTS)
	w.key(colSYNFrame).optUint(f.SYNFrame, f.SYNFrame != 0)
	w.key(colSYNACKFrame).optUint(f.SYNACKFrame, f.SYNACKFrame != 0)
	w.key(colACKFrame).optUint(f.ACKFrame, f.ACKFrame != 0)
	w.key(colSYNRetransmits).uint(uint64(f.SYNRetransmits))
	w.key(colSYNACKRetransmits).uint(uint64(f.SYNACKRetransmits))
	w.key(colDuplicateACKs).uint(uint64(f.DuplicateACKs))
	w.key(colClientPackets).uint(uint64(f.ClientPackets))
	w.key(colServerPackets).uint(uint64(f.ServerPackets))
	o := &f.ClientOptions
	w.key(colClientMSS).optUint(uint64(o.MSS), o.Has(decode.OptMSS))
	w.key(colClientWindowScale).optUint(uint64(o.WindowScale), o.Has(decode.OptWindowScale))
	w.key(colClientSackPermitted).bool(o.Has(decode.OptSACKPermitted))
	w.key(colClientTimestamps).bool(o.Has(decode.OptTimestamps))
	o = &f.ServerOptions
	w.key(colServerMSS).optUint(uint64(o.MSS), o.Has(decode.OptMSS))
	w.key(colServerWindowScale).optUint(uint64(o.WindowScale), o.Has(decode.OptWindowScale))
	w.key(colServerSackPermitted).bool(o.Has(decode.OptSACKPermitted))
	w.key(colServerTimestamps).bool(o.Has(decode.OptTimestamps))
	w.key(colFastOpen).plain(f.FastOpen.String())
	w.key(colECN).bool(f.ECN)
	w.key(colClose).plain(f.Close.String())
	w.key(colClientState).plain(f.ClientState.String())
	w.key(colServerState).plain(f.ServerState.String())
	w.b = appendCommunityID(w.key(colCommunityID).open(), f, seed) // base64: plain in both
	w.close()
	w.b = appendTunnel(w.key(colTunnel).list(), f.Tunnel)
	w.endList()
	w.b = f.AppendReason(w.key(colReason).open())
	w.closeText()
	if e.csv {
		return append(w.b, '\n')
	}
	return append(w.b, '}')
}

// fieldAppender writes the fields of one flow, in Columns order, as JSON
// members or CSV cells. A CSV cell is quoted (RFC 4180) when it holds a
// comma, a quote or a line break; null is an empty cell; a list-valued
// field is one cell holding its JSON encoding. Each value follows key, which
// takes the column (memberKey).
type fieldAppender struct {
	b      []byte
	csv    bool
	keys   *[numColumns]memberKey // memberKeys or csvKeys
	start  int                    // where the value being written began (open, list)
	stamps *stampCache
}

// key writes what precedes the value of c, and returns w for the value.
// It copies the whole fixed-size memberKey and cuts it back: two moves,
// not a call to memmove. It is kept out of line: inlined at each of the
// 37 members, it made formatting a flow slower, not faster
// (BenchmarkFormat/ndjson 690 against 570 ns; appending the key's string
// took 740).
//
//go:noinline
func (w *fieldAppender) key(c column) *fieldAppender {
	k, n := &w.keys[c], len(w.b)
	if cap(w.b)-n < len(k.b) {
		w.b = slices.Grow(w.b, len(k.b))
	}
	*(*[len(k.b)]byte)(w.b[n : n+len(k.b)]) = k.b
	w.b = w.b[:n+k.n]
	return w
}

func (w *fieldAppender) uint(v uint64) {
	w.b = appendUint(w.b, v)
}

// optUint writes v, or null when !ok.
func (w *fieldAppender) optUint(v uint64, ok bool) {
	if ok {
		w.b = appendUint(w.b, v)
	} else if !w.csv {
		w.b = append(w.b, "null"...)
	}
}

func (w *fieldAppender) bool(v bool) {
	w.b = appendBool(w.b, v)
}

// millis writes a duration in ns as milliseconds, or null when !ok.
func (w *fieldAppender) millis(ns int64, ok bool) {
	if ok {
		w.b = appendMillis(w.b, ns, true)
	} else if !w.csv {
		w.b = append(w.b, "null"...)
	}
}

// open starts a string value, whose key ended with the opening quote: the
// caller appends it to the returned buffer and ends it with close or
// closeText.
func (w *fieldAppender) open() []byte {
	w.start = len(w.b)
	return w.b
}

// close ends a string value that needs no escaping in JSON nor quoting in
// CSV.
func (w *fieldAppender) close() {
	if !w.csv {
		w.b = append(w.b, '"')
	}
}

// closeText ends a string value of any bytes, escaping or quoting it
// where it needs that (rarely: the common case only scans it).
func (w *fieldAppender) closeText() {
	v := w.b[w.start:]
	if w.csv {
		w.quoteCSV()
		return
	}
	if !plainJSON(v) {
		w.b = appendString(w.b[:w.start-1], slices.Clone(v))
		return
	}
	w.b = append(w.b, '"')
}

// plain writes a string known to need no escaping nor quoting: the names
// of enum values (TestPlainNames checks them).
func (w *fieldAppender) plain(s string) {
	w.b = append(w.open(), s...)
	w.close()
}

// addr writes an IP address: digits, hex, dots and colons, but for a zone.
func (w *fieldAppender) addr(a netip.Addr) {
	w.b = a.AppendTo(w.open())
	if a.Zone() != "" {
		w.closeText()
		return
	}
	w.close()
}

// time writes ns as an RFC 3339 UTC timestamp with nanoseconds.
func (w *fieldAppender) time(ns int64) {
	w.b = w.stamps.append(w.open(), ns)
	w.close()
}

// list starts a list-valued field: the caller appends its JSON encoding
// to the returned buffer and calls endList.
func (w *fieldAppender) list() []byte {
	w.start = len(w.b)
	return w.b
}

func (w *fieldAppender) endList() {
	if w.csv {
		w.quoteCSV()
	}
}

// quoteCSV quotes the cell from w.start when it holds a comma, a quote or
// a line break, and replaces invalid UTF-8 (appendCSVCell).
func (w *fieldAppender) quoteCSV() {
	v := w.b[w.start:]
	if csvPlain(v) {
		return
	}
	w.b = appendCSVCell(w.b[:w.start], slices.Clone(v))
}

// appendCommunityID appends the Community ID v1 of f's own 5-tuple: for
// tunnelled traffic, the inner addresses and ports the Flow carries.
func appendCommunityID(dst []byte, f *reassembly.Flow, seed uint16) []byte {
	return communityid.Append(dst, seed, communityid.TCP, f.Client, f.Server)
}

// appendTunnel appends the tunnel levels around a flow as a JSON list,
// outermost first, each {"type":..., "outer_src":..., "outer_dst":...}
// with the level's identifier under its name ("vni", "key", "teid",
// "session") where it has one: [] for plain traffic.
func appendTunnel(dst []byte, t *decode.Tunnel) []byte {
	dst = append(dst, '[')
	for i := range t.Len() {
		l := t.Level(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"type":`...)
		dst = appendString(dst, l.Type.String())
		dst = append(dst, `,"outer_src":"`...)
		dst = l.Src.AppendTo(dst)
		dst = append(dst, `","outer_dst":"`...)
		dst = l.Dst.AppendTo(dst)
		dst = append(dst, '"')
		if l.HasID {
			dst = append(dst, ',')
			dst = appendString(dst, l.Type.IDName())
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, uint64(l.ID), 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendAnomalies appends the codes as a JSON list of strings; their
// names need no escaping (TestPlainNames).
func appendAnomalies(dst []byte, codes []handshake.Code) []byte {
	dst = append(dst, '[')
	for i, c := range codes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, c.String()...)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

func appendEvidence(dst []byte, ev []handshake.Anomaly) []byte {
	dst = append(dst, '[')
	for i := range ev {
		a := &ev[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"anomaly":"`...)
		dst = append(dst, a.Code.String()...)
		dst = append(dst, `","fatal":`...)
		dst = appendBool(dst, a.Code.Fatal())
		dst = append(dst, `,"file":`...)
		if a.File >= 0 {
			dst = appendUint(dst, uint64(a.File))
		} else {
			dst = strconv.AppendInt(dst, int64(a.File), 10)
		}
		dst = append(dst, `,"frame":`...)
		dst = appendUint(dst, a.Frame)
		if a.Field != "" {
			dst = append(dst, `,"field":`...)
			dst = appendString(dst, a.Field)
		}
		if a.HasValues {
			dst = append(dst, `,"seen":`...)
			dst = appendUint(dst, a.Seen)
			dst = append(dst, `,"expected":`...)
			dst = appendUint(dst, a.Expected)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
