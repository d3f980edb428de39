package report

import (
	"slices"
	"strconv"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/internal/communityid"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Columns returns the field names of a flow, in output order: the keys of
// a flow object in JSON and NDJSON and the CSV header. The first twelve
// are fixed by CONTRACT.md; the rest are hsanalyze's own.
func Columns() []string { return slices.Clone(columns) }

// columns backs Columns; it is never modified.
var columns = []string{
	"client_ip", "client_port", "server_ip", "server_port",
	"verdict", "anomalies", "client_isn", "server_isn", "evidence",
	"first_ts", "syn_to_synack_ms", "synack_to_ack_ms",
	"last_ts", "syn_frame", "synack_frame", "ack_frame",
	"syn_retransmits", "synack_retransmits", "duplicate_acks",
	"client_packets", "server_packets",
	"client_mss", "client_window_scale", "client_sack_permitted", "client_timestamps",
	"server_mss", "server_window_scale", "server_sack_permitted", "server_timestamps",
	"fast_open", "ecn", "close", "client_state", "server_state",
	"community_id",
	"tunnel",
	"reason",
}

// AppendFlowJSON appends f as one JSON object with the Columns as keys; its
// community_id uses seed 0.
func AppendFlowJSON(dst []byte, f *reassembly.Flow) []byte {
	return appendFields(dst, f, jsonSink{}, 0)
}

// sink receives a flow's fields in Columns order. The JSON and CSV writers
// differ only in how they frame and quote a value.
type sink interface {
	key(dst []byte, i int) []byte
	// raw appends an already-encoded JSON value (number, null, true/false,
	// or a JSON array/string for list-valued fields).
	raw(dst []byte, v []byte) []byte
	str(dst []byte, s []byte) []byte
	end(dst []byte) []byte
}

type jsonSink struct{}

func (jsonSink) key(dst []byte, i int) []byte {
	if i == 0 {
		dst = append(dst, '{')
	}
	return appendKey(dst, columns[i], i == 0)
}
func (jsonSink) raw(dst []byte, v []byte) []byte { return append(dst, v...) }
func (jsonSink) str(dst []byte, s []byte) []byte { return appendString(dst, s) }
func (jsonSink) end(dst []byte) []byte           { return append(dst, '}') }

// appendFields walks the columns of f. Each value is encoded as JSON into a
// scratch buffer first, so that CSV can quote a list cell as a whole. seed
// is the Community ID seed.
func appendFields(dst []byte, f *reassembly.Flow, s sink, seed uint16) []byte {
	var scratch [512]byte
	col := 0
	num := func(v []byte) {
		dst = s.key(dst, col)
		dst = s.raw(dst, v)
		col++
	}
	text := func(v []byte) {
		dst = s.key(dst, col)
		dst = s.str(dst, v)
		col++
	}
	b := scratch[:0]
	text(f.Client.Addr().AppendTo(b))
	num(strconv.AppendUint(b, uint64(f.Client.Port()), 10))
	text(f.Server.Addr().AppendTo(b))
	num(strconv.AppendUint(b, uint64(f.Server.Port()), 10))
	text(append(b, f.Verdict.String()...))
	num(appendAnomalies(b, f.Anomalies))
	num(appendOptUint(b, uint64(f.ClientISN), f.HasClientISN))
	num(appendOptUint(b, uint64(f.ServerISN), f.HasServerISN))
	num(appendEvidence(b, f.Evidence))
	text(time3339(b, f.FirstTS))
	num(appendMillis(b, f.SYNToSYNACK, f.HasSYNToSYNACK))
	num(appendMillis(b, f.SYNACKToACK, f.HasSYNACKToACK))
	text(time3339(b, f.LastTS))
	num(appendFrame(b, f.SYNFrame))
	num(appendFrame(b, f.SYNACKFrame))
	num(appendFrame(b, f.ACKFrame))
	num(strconv.AppendUint(b, uint64(f.SYNRetransmits), 10))
	num(strconv.AppendUint(b, uint64(f.SYNACKRetransmits), 10))
	num(strconv.AppendUint(b, uint64(f.DuplicateACKs), 10))
	num(strconv.AppendUint(b, uint64(f.ClientPackets), 10))
	num(strconv.AppendUint(b, uint64(f.ServerPackets), 10))
	for _, o := range [2]*handshake.SynOptions{&f.ClientOptions, &f.ServerOptions} {
		num(appendOptUint(b, uint64(o.MSS), o.Has(decode.OptMSS)))
		num(appendOptUint(b, uint64(o.WindowScale), o.Has(decode.OptWindowScale)))
		num(appendBool(b, o.Has(decode.OptSACKPermitted)))
		num(appendBool(b, o.Has(decode.OptTimestamps)))
	}
	text(append(b, f.FastOpen.String()...))
	num(appendBool(b, f.ECN))
	text(append(b, f.Close.String()...))
	text(append(b, f.ClientState.String()...))
	text(append(b, f.ServerState.String()...))
	text(appendCommunityID(b, f, seed))
	num(appendTunnel(b, f.Tunnel))
	text(f.AppendReason(b))
	return s.end(dst)
}

// appendCommunityID appends the Community ID v1 of f's own 5-tuple: for
// tunnelled traffic, the inner addresses and ports the Flow carries.
func appendCommunityID(dst []byte, f *reassembly.Flow, seed uint16) []byte {
	return communityid.Append(dst, seed, communityid.TCP, f.Client, f.Server)
}

// time3339 formats ns without the quotes appendTime adds.
func time3339(dst []byte, ns int64) []byte {
	b := appendTime(dst, ns)
	return b[1 : len(b)-1]
}

// appendFrame appends a frame number, or null for 0 (not captured).
func appendFrame(dst []byte, frame uint64) []byte { return appendOptUint(dst, frame, frame != 0) }

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

func appendAnomalies(dst []byte, codes []handshake.Code) []byte {
	dst = append(dst, '[')
	for i, c := range codes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, c.String())
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
		dst = append(dst, `{"anomaly":`...)
		dst = appendString(dst, a.Code.String())
		dst = append(dst, `,"fatal":`...)
		dst = appendBool(dst, a.Code.Fatal())
		dst = append(dst, `,"file":`...)
		dst = strconv.AppendInt(dst, int64(a.File), 10)
		dst = append(dst, `,"frame":`...)
		dst = strconv.AppendUint(dst, a.Frame, 10)
		if a.Field != "" {
			dst = append(dst, `,"field":`...)
			dst = appendString(dst, a.Field)
		}
		if a.HasValues {
			dst = append(dst, `,"seen":`...)
			dst = strconv.AppendUint(dst, a.Seen, 10)
			dst = append(dst, `,"expected":`...)
			dst = strconv.AppendUint(dst, a.Expected, 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
