package report_test

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// fuzzBytes hands out fixed-size values from fuzz input, zeros once it is
// used up.
type fuzzBytes []byte

func (b *fuzzBytes) take(n int) []byte {
	out := make([]byte, n)
	k := copy(out, *b)
	*b = (*b)[k:]
	return out
}
func (b *fuzzBytes) u8() uint8   { return b.take(1)[0] }
func (b *fuzzBytes) u16() uint16 { return binary.BigEndian.Uint16(b.take(2)) }
func (b *fuzzBytes) u32() uint32 { return binary.BigEndian.Uint32(b.take(4)) }
func (b *fuzzBytes) u64() uint64 { return binary.BigEndian.Uint64(b.take(8)) }

// flowFromBytes builds a Flow from fuzz input: addresses (IPv4 or IPv6 by
// the first byte), ports, verdict, ISNs, timestamps and durations, options,
// then up to 8 evidence entries with any code, frame, field text and values.
func flowFromBytes(data []byte) reassembly.Flow {
	b := fuzzBytes(data)
	var f reassembly.Flow
	v6 := b.u8()&1 == 1
	addr := func() netip.Addr {
		if v6 {
			return netip.AddrFrom16([16]byte(b.take(16)))
		}
		return netip.AddrFrom4([4]byte(b.take(4)))
	}
	c, s := addr(), addr()
	f.Client = netip.AddrPortFrom(c, b.u16())
	f.Server = netip.AddrPortFrom(s, b.u16())
	verdicts := handshake.Verdicts()
	f.Verdict = verdicts[int(b.u8())%len(verdicts)]
	flags := b.u8()
	f.HasClientISN, f.HasServerISN = flags&1 != 0, flags&2 != 0
	f.HasSYNToSYNACK, f.HasSYNACKToACK = flags&4 != 0, flags&8 != 0
	f.ECN = flags&16 != 0
	f.ClientISN, f.ServerISN = decode.Seq(b.u32()), decode.Seq(b.u32())
	f.FirstTS, f.LastTS = int64(b.u64()), int64(b.u64())
	f.SYNToSYNACK, f.SYNACKToACK = int64(b.u64()), int64(b.u64())
	f.SYNFrame, f.SYNACKFrame, f.ACKFrame = b.u64(), b.u64(), b.u64()
	f.SYNRetransmits, f.SYNACKRetransmits, f.DuplicateACKs = b.u16(), b.u16(), b.u16()
	f.ClientPackets, f.ServerPackets = b.u32(), b.u32()
	f.ClientOptions = handshake.SynOptions{Present: decode.OptionSet(b.u16()), MSS: b.u16(), WindowScale: b.u8()}
	f.ServerOptions = handshake.SynOptions{Present: decode.OptionSet(b.u16()), MSS: b.u16(), WindowScale: b.u8()}
	codes := handshake.Codes()
	for n := int(b.u8() % 9); n > 0; n-- {
		a := handshake.Anomaly{Code: codes[int(b.u8())%len(codes)], Frame: b.u64()}
		a.Field = string(b.take(int(b.u8() % 16))) // any bytes: escaping
		a.HasValues = b.u8()&1 == 1
		a.Seen, a.Expected = b.u64(), b.u64()
		f.Evidence = append(f.Evidence, a)
		if !slices.Contains(f.Anomalies, a.Code) {
			f.Anomalies = append(f.Anomalies, a.Code)
		}
	}
	return f
}

// seed lays out the fields flowFromBytes reads, for readable seeds.
func seed(v6 bool, client, server []byte, cport, sport uint16, verdict, flags uint8, isn uint32, firstTS int64, ev ...[]byte) []byte {
	var b []byte
	if v6 {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = append(append(b, client...), server...)
	b = binary.BigEndian.AppendUint16(b, cport)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = append(b, verdict, flags)
	b = binary.BigEndian.AppendUint32(b, isn)
	b = binary.BigEndian.AppendUint32(b, isn^0xffffffff)
	b = binary.BigEndian.AppendUint64(b, uint64(firstTS))
	b = binary.BigEndian.AppendUint64(b, uint64(firstTS)+1000)
	b = binary.BigEndian.AppendUint64(b, 100_000) // SYN→SYN-ACK 0.1 ms
	b = binary.BigEndian.AppendUint64(b, 50_000)
	b = append(b, make([]byte, 3*8+3*2+2*4+2*5)...) // frames, counters, options
	b = append(b, byte(len(ev)))
	for _, e := range ev {
		b = append(b, e...)
	}
	return b
}

// evidence lays out one evidence entry.
func evidence(code uint8, frame uint64, field string, hasValues bool, seen, expected uint64) []byte {
	b := append([]byte{code}, binary.BigEndian.AppendUint64(nil, frame)...)
	b = append(append(b, byte(len(field))), field...)
	if hasValues {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, seen)
	return binary.BigEndian.AppendUint64(b, expected)
}

func FuzzFlowJSON(f *testing.F) {
	v4c, v4s := []byte{192, 0, 2, 1}, []byte{198, 51, 100, 2}
	v6c := netip.MustParseAddr("2001:db8::1").AsSlice()
	v6s := netip.MustParseAddr("2001:db8::2").AsSlice()
	ts := time.Date(2026, 11, 24, 10, 0, 0, 1000, time.UTC).UnixNano()
	// Nothing: the zero flow (midstream, 0.0.0.0, epoch 0).
	f.Add([]byte{})
	// A complete IPv4 attempt with both ISNs and both durations.
	f.Add(seed(false, v4c, v4s, 40000, 80, 0, 0x0f, 1000, ts))
	// IPv6, no ISNs (null), no durations.
	f.Add(seed(true, v6c, v6s, 51234, 443, 1, 0, 0, ts))
	// IPv4-mapped IPv6 client address.
	f.Add(seed(true, netip.MustParseAddr("::ffff:192.0.2.1").AsSlice(), v6s, 1, 65535, 2, 3, math.MaxUint32, ts))
	// Negative timestamp (before 1970).
	f.Add(seed(false, v4c, v4s, 40000, 80, 3, 1, 0, -1))
	// Largest and smallest int64 timestamps (years 2262 and 1677).
	f.Add(seed(false, v4c, v4s, 40000, 80, 3, 1, 0, math.MaxInt64))
	f.Add(seed(false, v4c, v4s, 40000, 80, 3, 1, 0, math.MinInt64))
	// Evidence with values, without values, with a field needing escapes
	// (quote, backslash, control byte, invalid UTF-8), maximum numbers.
	f.Add(seed(false, v4c, v4s, 40000, 80, 3, 3, 1000, ts,
		evidence(0, 2, "ack", true, 1002, 1001),
		evidence(5, 1, "", false, 0, 0),
		evidence(7, math.MaxUint64, "\"\\\x00\xff\n", true, math.MaxUint64, 0),
	))

	f.Fuzz(func(t *testing.T, data []byte) {
		fl := flowFromBytes(data)
		out := report.AppendFlowJSON(nil, &fl)
		if !json.Valid(out) {
			t.Fatalf("not JSON: %s", out)
		}
		var got struct {
			ClientIP   string            `json:"client_ip"`
			ClientPort uint16            `json:"client_port"`
			ServerIP   string            `json:"server_ip"`
			ServerPort uint16            `json:"server_port"`
			Verdict    string            `json:"verdict"`
			Anomalies  []string          `json:"anomalies"`
			ClientISN  *uint32           `json:"client_isn"`
			ServerISN  *uint32           `json:"server_isn"`
			Evidence   []json.RawMessage `json:"evidence"`
			FirstTS    string            `json:"first_ts"`
			SynToSyn   *float64          `json:"syn_to_synack_ms"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got.ClientIP != fl.Client.Addr().String() || got.ClientPort != fl.Client.Port() ||
			got.ServerIP != fl.Server.Addr().String() || got.ServerPort != fl.Server.Port() {
			t.Errorf("endpoints %s:%d → %s:%d, want %v → %v", got.ClientIP, got.ClientPort, got.ServerIP, got.ServerPort, fl.Client, fl.Server)
		}
		if got.Verdict != fl.Verdict.String() {
			t.Errorf("verdict %q, want %q", got.Verdict, fl.Verdict)
		}
		if (got.ClientISN != nil) != fl.HasClientISN || (got.ClientISN != nil && *got.ClientISN != uint32(fl.ClientISN)) {
			t.Errorf("client_isn %v, want %d (has %v)", got.ClientISN, fl.ClientISN, fl.HasClientISN)
		}
		if (got.ServerISN != nil) != fl.HasServerISN {
			t.Errorf("server_isn %v, has %v", got.ServerISN, fl.HasServerISN)
		}
		if (got.SynToSyn != nil) != fl.HasSYNToSYNACK {
			t.Errorf("syn_to_synack_ms %v, has %v", got.SynToSyn, fl.HasSYNToSYNACK)
		}
		if len(got.Evidence) != len(fl.Evidence) || len(got.Anomalies) != len(fl.Anomalies) {
			t.Errorf("%d evidence %d anomalies, want %d %d", len(got.Evidence), len(got.Anomalies), len(fl.Evidence), len(fl.Anomalies))
		}
		for i, raw := range got.Evidence {
			var e struct {
				Anomaly  string  `json:"anomaly"`
				Frame    uint64  `json:"frame"`
				Field    *string `json:"field"`
				Seen     *uint64 `json:"seen"`
				Expected *uint64 `json:"expected"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("evidence %d: %v: %s", i, err, raw)
			}
			a := fl.Evidence[i]
			if e.Anomaly != a.Code.String() || e.Frame != a.Frame || (e.Seen != nil) != a.HasValues || (e.Seen != nil && (*e.Seen != a.Seen || *e.Expected != a.Expected)) {
				t.Errorf("evidence %d = %s, want %v", i, raw, a)
			}
			if (e.Field != nil) != (a.Field != "") {
				t.Errorf("evidence %d field %v, want %q", i, e.Field, a.Field)
			}
		}
		ts, err := time.Parse(time.RFC3339Nano, got.FirstTS)
		if err != nil || !ts.Equal(time.Unix(0, fl.FirstTS)) {
			t.Errorf("first_ts %q (%v), want %v", got.FirstTS, err, time.Unix(0, fl.FirstTS).UTC())
		}
		// The CSV row of the same flow: one record of Columns cells, with
		// the values of the JSON object (null as an empty cell).
		var row bytes.Buffer
		w, err := report.New("csv", &row, report.Options{NoHeader: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Flow(&fl); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(&report.Capture{}, &report.Stats{}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&row).ReadAll()
		if err != nil || len(recs) != 1 || len(recs[0]) != len(report.Columns()) {
			t.Fatalf("CSV %q: %v, %d records", row.String(), err, len(recs))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(out, &obj); err != nil {
			t.Fatal(err)
		}
		for i, col := range report.Columns() {
			want := string(obj[col])
			var s string
			if json.Unmarshal(obj[col], &s) == nil && want[0] == '"' {
				want = s
			} else if want == "null" {
				want = ""
			}
			// encoding/csv reads a quoted \r\n as \n. Both write
			// U+FFFD for each byte that is not valid UTF-8.
			if want = strings.ReplaceAll(want, "\r\n", "\n"); recs[0][i] != want {
				t.Errorf("CSV %s = %q, JSON has %s", col, recs[0][i], obj[col])
			}
		}
	})
}
