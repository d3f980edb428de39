package report

import (
	"io"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// parquetRowGroup is the number of flows per row group: the writer buffers
// one row group (a few MB of flows) and no more, whatever the capture.
const parquetRowGroup = 64 << 10

// parquetFlow is one row of --format parquet: the NDJSON fields (Columns)
// as typed columns, in the same order and with the same names. Numbers
// that NDJSON writes as null are optional; first_ts and last_ts are
// TIMESTAMP(NANOS) in UTC; anomalies, evidence and tunnel are LISTs.
type parquetFlow struct {
	ClientIP            string            `parquet:"client_ip,dict"`
	ClientPort          int32             `parquet:"client_port"`
	ServerIP            string            `parquet:"server_ip,dict"`
	ServerPort          int32             `parquet:"server_port"`
	Verdict             string            `parquet:"verdict,dict"`
	Anomalies           []string          `parquet:"anomalies,list"`
	ClientISN           *int64            `parquet:"client_isn,optional"`
	ServerISN           *int64            `parquet:"server_isn,optional"`
	Evidence            []parquetEvidence `parquet:"evidence,list"`
	FirstTS             time.Time         `parquet:"first_ts,timestamp(nanosecond)"`
	SYNToSYNACKMs       *float64          `parquet:"syn_to_synack_ms,optional"`
	SYNACKToACKMs       *float64          `parquet:"synack_to_ack_ms,optional"`
	LastTS              time.Time         `parquet:"last_ts,timestamp(nanosecond)"`
	SYNFrame            *int64            `parquet:"syn_frame,optional"`
	SYNACKFrame         *int64            `parquet:"synack_frame,optional"`
	ACKFrame            *int64            `parquet:"ack_frame,optional"`
	SYNRetransmits      int32             `parquet:"syn_retransmits"`
	SYNACKRetransmits   int32             `parquet:"synack_retransmits"`
	DuplicateACKs       int32             `parquet:"duplicate_acks"`
	ClientPackets       int64             `parquet:"client_packets"`
	ServerPackets       int64             `parquet:"server_packets"`
	ClientMSS           *int32            `parquet:"client_mss,optional"`
	ClientWindowScale   *int32            `parquet:"client_window_scale,optional"`
	ClientSACKPermitted bool              `parquet:"client_sack_permitted"`
	ClientTimestamps    bool              `parquet:"client_timestamps"`
	ServerMSS           *int32            `parquet:"server_mss,optional"`
	ServerWindowScale   *int32            `parquet:"server_window_scale,optional"`
	ServerSACKPermitted bool              `parquet:"server_sack_permitted"`
	ServerTimestamps    bool              `parquet:"server_timestamps"`
	FastOpen            string            `parquet:"fast_open,dict"`
	ECN                 bool              `parquet:"ecn"`
	Close               string            `parquet:"close,dict"`
	ClientState         string            `parquet:"client_state,dict"`
	ServerState         string            `parquet:"server_state,dict"`
	CommunityID         string            `parquet:"community_id"`
	Tunnel              []parquetTunnel   `parquet:"tunnel,list"`
	Reason              string            `parquet:"reason"`
}

// parquetEvidence is one element of the evidence list; field, seen and
// expected are null where NDJSON leaves them out.
type parquetEvidence struct {
	Anomaly  string  `parquet:"anomaly,dict"`
	Fatal    bool    `parquet:"fatal"`
	File     int32   `parquet:"file"`
	Frame    int64   `parquet:"frame"`
	Field    *string `parquet:"field,optional"`
	Seen     *int64  `parquet:"seen,optional"`
	Expected *int64  `parquet:"expected,optional"`
}

// parquetTunnel is one level of the tunnel list. NDJSON names the
// identifier after the tunnel type (vni, key, teid, session_id); here it
// is id, with id_name telling which (null when the level has none).
type parquetTunnel struct {
	Type     string  `parquet:"type,dict"`
	OuterSrc string  `parquet:"outer_src"`
	OuterDst string  `parquet:"outer_dst"`
	IDName   *string `parquet:"id_name,optional"`
	ID       *int64  `parquet:"id,optional"`
}

// parquetWriter writes --format parquet: one Parquet file, zstd-compressed,
// in row groups of parquetRowGroup flows.
type parquetWriter struct {
	w    *parquet.GenericWriter[parquetFlow]
	buf  []parquetFlow
	seed uint16
}

func newParquet(w io.Writer, opts Options) *parquetWriter {
	return &parquetWriter{
		w: parquet.NewGenericWriter[parquetFlow](w,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
			parquet.MaxRowsPerRowGroup(parquetRowGroup),
			parquet.CreatedBy("hsanalyze", "", ""),
		),
		seed: opts.CommunityIDSeed,
	}
}

// Flow buffers f; the writer flushes a row group when it is full.
func (p *parquetWriter) Flow(f *reassembly.Flow) error {
	p.buf = append(p.buf, p.row(f))
	if len(p.buf) < 1024 {
		return nil
	}
	return p.flush()
}

func (p *parquetWriter) flush() error {
	_, err := p.w.Write(p.buf)
	clear(p.buf)
	p.buf = p.buf[:0]
	return err
}

// Close writes the last rows and the file footer. The summary is not part
// of the file: it is the flows' aggregate, for a query to compute.
func (p *parquetWriter) Close(*Capture, *Stats) error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.Close()
}

func (p *parquetWriter) row(f *reassembly.Flow) parquetFlow {
	r := parquetFlow{
		ClientIP:            f.Client.Addr().String(),
		ClientPort:          int32(f.Client.Port()),
		ServerIP:            f.Server.Addr().String(),
		ServerPort:          int32(f.Server.Port()),
		Verdict:             f.Verdict.String(),
		Anomalies:           make([]string, 0, len(f.Anomalies)),
		Evidence:            make([]parquetEvidence, 0, len(f.Evidence)),
		FirstTS:             time.Unix(0, f.FirstTS).UTC(),
		LastTS:              time.Unix(0, f.LastTS).UTC(),
		SYNRetransmits:      int32(f.SYNRetransmits),
		SYNACKRetransmits:   int32(f.SYNACKRetransmits),
		DuplicateACKs:       int32(f.DuplicateACKs),
		ClientPackets:       int64(f.ClientPackets),
		ServerPackets:       int64(f.ServerPackets),
		ClientSACKPermitted: f.ClientOptions.Has(decode.OptSACKPermitted),
		ClientTimestamps:    f.ClientOptions.Has(decode.OptTimestamps),
		ServerSACKPermitted: f.ServerOptions.Has(decode.OptSACKPermitted),
		ServerTimestamps:    f.ServerOptions.Has(decode.OptTimestamps),
		FastOpen:            f.FastOpen.String(),
		ECN:                 f.ECN,
		Close:               f.Close.String(),
		ClientState:         f.ClientState.String(),
		ServerState:         f.ServerState.String(),
		CommunityID:         string(appendCommunityID(nil, f, p.seed)),
		Tunnel:              make([]parquetTunnel, 0, f.Tunnel.Len()),
		Reason:              string(f.AppendReason(nil)),
	}
	for _, c := range f.Anomalies {
		r.Anomalies = append(r.Anomalies, c.String())
	}
	if f.HasClientISN {
		r.ClientISN = ptr(int64(f.ClientISN))
	}
	if f.HasServerISN {
		r.ServerISN = ptr(int64(f.ServerISN))
	}
	for i := range f.Evidence {
		r.Evidence = append(r.Evidence, parquetEvidenceOf(&f.Evidence[i]))
	}
	if f.HasSYNToSYNACK {
		r.SYNToSYNACKMs = ptr(nsMillis(f.SYNToSYNACK))
	}
	if f.HasSYNACKToACK {
		r.SYNACKToACKMs = ptr(nsMillis(f.SYNACKToACK))
	}
	r.SYNFrame, r.SYNACKFrame, r.ACKFrame = optFrame(f.SYNFrame), optFrame(f.SYNACKFrame), optFrame(f.ACKFrame)
	r.ClientMSS, r.ClientWindowScale = synOptions(&f.ClientOptions)
	r.ServerMSS, r.ServerWindowScale = synOptions(&f.ServerOptions)
	for i := range f.Tunnel.Len() {
		l := f.Tunnel.Level(i)
		t := parquetTunnel{Type: l.Type.String(), OuterSrc: l.Src.String(), OuterDst: l.Dst.String()}
		if l.HasID {
			t.IDName, t.ID = ptr(l.Type.IDName()), ptr(int64(l.ID))
		}
		r.Tunnel = append(r.Tunnel, t)
	}
	return r
}

func parquetEvidenceOf(a *handshake.Anomaly) parquetEvidence {
	e := parquetEvidence{Anomaly: a.Code.String(), Fatal: a.Code.Fatal(), File: int32(a.File), Frame: int64(a.Frame)}
	if a.Field != "" {
		e.Field = ptr(a.Field)
	}
	if a.HasValues {
		e.Seen, e.Expected = ptr(int64(a.Seen)), ptr(int64(a.Expected))
	}
	return e
}

func synOptions(o *handshake.SynOptions) (mss, ws *int32) {
	if o.Has(decode.OptMSS) {
		mss = ptr(int32(o.MSS))
	}
	if o.Has(decode.OptWindowScale) {
		ws = ptr(int32(o.WindowScale))
	}
	return mss, ws
}

func optFrame(frame uint64) *int64 {
	if frame == 0 {
		return nil
	}
	return ptr(int64(frame))
}

// nsMillis converts ns to milliseconds, as NDJSON prints them.
func nsMillis(ns int64) float64 { return float64(ns) / 1e6 }

func ptr[T any](v T) *T { return &v }
