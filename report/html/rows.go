package html

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/internal/communityid"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// rowStore holds the flows the page embeds, each encoded at once as the
// tail of a JSON array (everything after its time, which is written
// relative to the first flow at Close):
//
//	[t_us, client, client_port, server, server_port, verdict, evidence,
//	 syn_to_synack_us, synack_to_ack_us, ladder, tunnel, reason]
//
// client and server index the address table, verdict the verdicts, ladder
// the ladders (-1: none kept); tunnel is the encapsulation in words ("" for
// plain traffic); reason is the flow's reason in plain words; latencies are null when not measured;
// evidence is [[code, frame, field, seen, expected, file], ...] with code
// an index into the code table and seen/expected null without values.
//
// Problem flows are all kept (up to the cap); complete flows are sampled:
// the n-th complete flow (in finishing order) is kept when n is a multiple
// of stride, which doubles, dropping every other kept one, whenever more
// than the cap would be kept.
type rowStore struct {
	addrs    addrTable
	problems int
	prob     encoded
	sample   encoded
	seqs     []uint64 // complete-flow number of each sample row
	seen     uint64   // complete flows offered
	stride   uint64
	cap      int
	ladders  []byte // JSON array elements, comma-separated
	nLadders int
}

// encoded is a list of encoded rows in one buffer.
type encoded struct {
	buf  []byte
	rows []rowRef
}

type rowRef struct {
	ts       int64
	off, end int
}

func (e *encoded) add(ts int64, b []byte) {
	off := len(e.buf)
	e.buf = append(e.buf, b...)
	e.rows = append(e.rows, rowRef{ts: ts, off: off, end: len(e.buf)})
}

func newRowStore(sampleCap int) rowStore {
	return rowStore{addrs: addrTable{idx: map[netip.Addr]int{}}, stride: 1, cap: sampleCap}
}

func (r *rowStore) addSample(f *reassembly.Flow) {
	r.seen++
	if r.seen%r.stride != 0 {
		return
	}
	if len(r.seqs) == r.cap {
		r.stride *= 2
		r.thin()
		if r.seen%r.stride != 0 {
			return
		}
	}
	r.sample.add(f.FirstTS, r.appendRow(nil, f, -1))
	r.seqs = append(r.seqs, r.seen)
}

// thin drops the sample rows whose number is not a multiple of stride.
func (r *rowStore) thin() {
	var kept encoded
	var seqs []uint64
	for i, ref := range r.sample.rows {
		if r.seqs[i]%r.stride == 0 {
			kept.add(ref.ts, r.sample.buf[ref.off:ref.end])
			seqs = append(seqs, r.seqs[i])
		}
	}
	r.sample, r.seqs = kept, seqs
}

func (r *rowStore) addProblem(f *reassembly.Flow, segs []segment, more int, seed uint16) {
	r.problems++
	ladder := -1
	if segs != nil {
		ladder = r.nLadders
		r.nLadders++
		if len(r.ladders) > 0 {
			r.ladders = append(r.ladders, ',')
		}
		r.ladders = appendLadder(r.ladders, f, segs, more, seed)
	}
	var scratch [256]byte
	r.prob.add(f.FirstTS, r.appendRow(scratch[:0], f, ladder))
}

// appendRow appends the row of f from its client onwards.
func (r *rowStore) appendRow(b []byte, f *reassembly.Flow, ladder int) []byte {
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.addrs.index(f.Client.Addr())), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(f.Client.Port()), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.addrs.index(f.Server.Addr())), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(f.Server.Port()), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(verdictIndex(f.Verdict)), 10)
	b = append(b, ',')
	b = appendEvidence(b, f.Evidence)
	b = append(b, ',')
	b = appendMicros(b, f.SYNToSYNACK, f.HasSYNToSYNACK)
	b = append(b, ',')
	b = appendMicros(b, f.SYNACKToACK, f.HasSYNACKToACK)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(ladder), 10)
	b = append(b, ',')
	if f.Tunnel.Len() > 0 {
		b = appendString(b, string(f.Tunnel.AppendText(nil)))
	} else {
		b = append(b, `""`...)
	}
	b = append(b, ',')
	var reason [160]byte
	b = appendString(b, string(f.AppendReason(reason[:0])))
	return append(b, ']')
}

// appendMicros appends ns in µs with one decimal, or null.
func appendMicros(b []byte, ns int64, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, float64(ns)/1e3, 'f', -1, 64)
}

func appendEvidence(b []byte, ev []handshake.Anomaly) []byte {
	b = append(b, '[')
	for i := range ev {
		a := &ev[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(a.Code), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, a.Frame, 10)
		b = append(b, ',')
		b = appendString(b, a.Field)
		if a.HasValues {
			b = append(b, ',')
			b = strconv.AppendUint(b, a.Seen, 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, a.Expected, 10)
		} else {
			b = append(b, ",null,null"...)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(a.File), 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// appendLadder appends one ladder object:
//
//	{"ci": client ISN, "si": server ISN, "cid": Community ID,
//	 "more": segments not kept, "close": how it closed,
//	 "cs"/"ss": final states,
//	 "segs": [[dt_us, frame, from_client, flags, seq, ack, window, len,
//	           client_state, server_state, evidence, icmp], ...]}
//
// ISNs are null when not captured; dt is from the first segment; flags is
// the TCP flag bits (decode.Flags); seq is relative to its sender's ISN and
// ack to the receiver's (raw where that ISN is unknown), as Wireshark's
// relative numbers, which keeps the page small; states index the state
// names; evidence is as in a row and, like icmp (1: an ICMP error quoting
// the segment), left out at the end of a segment when empty.
func appendLadder(b []byte, f *reassembly.Flow, segs []segment, more int, seed uint16) []byte {
	b = append(b, `{"ci":`...)
	b = appendOptUint(b, uint64(f.ClientISN), f.HasClientISN)
	b = append(b, `,"si":`...)
	b = appendOptUint(b, uint64(f.ServerISN), f.HasServerISN)
	b = append(b, `,"cid":"`...)
	b = communityid.Append(b, seed, communityid.TCP, f.Client, f.Server)
	b = append(b, `","more":`...)
	b = strconv.AppendInt(b, int64(more), 10)
	b = append(b, `,"close":`...)
	b = appendString(b, f.Close.String())
	b = append(b, `,"cs":`...)
	b = strconv.AppendInt(b, int64(f.ClientState), 10)
	b = append(b, `,"ss":`...)
	b = strconv.AppendInt(b, int64(f.ServerState), 10)
	b = append(b, `,"segs":[`...)
	var t0 int64
	if len(segs) > 0 {
		t0 = segs[0].ts
	}
	rel := func(v uint32, isn decode.Seq, ok bool) uint32 {
		if !ok {
			return v
		}
		return v - uint32(isn)
	}
	for i := range segs {
		s := &segs[i]
		own, ownOK, peer, peerOK := f.ClientISN, f.HasClientISN, f.ServerISN, f.HasServerISN
		if !s.fromClient {
			own, ownOK, peer, peerOK = peer, peerOK, own, ownOK
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, float64(s.ts-t0)/1e3, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendUint(b, s.frame, 10)
		b = append(b, ',')
		b = appendBit(b, s.fromClient)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(s.flags), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(rel(s.seq, own, ownOK)), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(rel(s.ack, peer, peerOK)), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(s.window), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(s.payload), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(s.client), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(s.server), 10)
		if len(s.anomalies) > 0 || s.icmp {
			b = append(b, ',')
			b = appendEvidence(b, s.anomalies)
		}
		if s.icmp {
			b = append(b, ",1"...)
		}
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

func appendBit(b []byte, v bool) []byte {
	if v {
		return append(b, '1')
	}
	return append(b, '0')
}

func appendOptUint(b []byte, v uint64, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	return strconv.AppendUint(b, v, 10)
}

// addrTable numbers the addresses the rows refer to.
type addrTable struct {
	idx  map[netip.Addr]int
	list []netip.Addr
}

func (t *addrTable) index(a netip.Addr) int {
	i, ok := t.idx[a]
	if !ok {
		i = len(t.list)
		t.idx[a] = i
		t.list = append(t.list, a)
	}
	return i
}

// appendRows appends the rows of e sorted by time, as JSON array elements,
// times in µs after origin.
func appendRows(b []byte, e *encoded, origin int64, first bool) []byte {
	rows := slices.Clone(e.rows)
	slices.SortStableFunc(rows, func(x, y rowRef) int { return cmp.Compare(x.ts, y.ts) })
	for _, ref := range rows {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, "\n["...)
		b = strconv.AppendFloat(b, float64(ref.ts-origin)/1e3, 'f', -1, 64)
		b = append(b, e.buf[ref.off:ref.end]...)
	}
	return b
}

// appendString appends s as a JSON string that is safe inside an HTML
// script element: <, > and & are escaped, as are U+2028 and U+2029, and
// invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case utf8.RuneError:
			if n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
		case '\u2028', '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
