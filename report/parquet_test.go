package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/hsanalyze/hsanalyze/report"
)

// TestParquetMatchesNDJSON writes the scenario captures and the 200-flow
// mix as Parquet and as NDJSON, reads the Parquet file back column by
// column and checks every value of every row against the NDJSON object,
// and checks the schema: the NDJSON field names in order, timestamps as
// TIMESTAMP(NANOS), lists as LIST, zstd, bounded row groups.
func TestParquetMatchesNDJSON(t *testing.T) {
	a := analyzeFiles(t, []string{"mix-200.pcap", "synack-wrong-ack.pcap", "tfo-accepted.pcap", "midstream.pcap", "complete-v6.pcap"})
	pq := render(t, a, "parquet", report.Options{})
	nd := render(t, a, "ndjson", report.Options{})

	f, err := parquet.OpenFile(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatalf("not a Parquet file: %v", err)
	}
	var names []string
	for _, field := range f.Schema().Fields() {
		names = append(names, field.Name())
	}
	if !slices.Equal(names, report.Columns()) {
		t.Errorf("Parquet columns differ from the NDJSON fields:\nparquet %q\nndjson  %q", names, report.Columns())
	}
	schema := f.Schema().String()
	for _, want := range []string{
		"int64 first_ts (TIMESTAMP(isAdjustedToUTC=true,unit=NANOS))",
		"optional int64 client_isn",
		"optional double syn_to_synack_ms",
		"repeated group list",
	} {
		if !strings.Contains(schema, want) {
			t.Errorf("schema lacks %q:\n%s", want, schema)
		}
	}
	for _, rg := range f.Metadata().RowGroups {
		if rg.NumRows > 64<<10 {
			t.Errorf("a row group of %d rows", rg.NumRows)
		}
		for _, c := range rg.Columns {
			if c.MetaData.Codec.String() != "ZSTD" {
				t.Fatalf("column %v compressed with %v, want ZSTD", c.MetaData.PathInSchema, c.MetaData.Codec)
			}
		}
	}

	rows, err := parquet.Read[readFlow](bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(nd)), "\n")
	if len(rows) != len(lines) || len(rows) != len(a.flows) {
		t.Fatalf("%d Parquet rows, %d NDJSON lines, %d flows", len(rows), len(lines), len(a.flows))
	}
	for i, line := range lines {
		var want map[string]any
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatal(err)
		}
		got := asNDJSON(toMap(reflect.ValueOf(rows[i])).(map[string]any))
		for _, k := range report.Columns() {
			if g, w := canon(got[k]), canon(want[k]); g != w {
				t.Errorf("row %d %s: parquet %s, ndjson %s", i, k, g, w)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// readFlow and its element types read the file back by column name, as
// any Parquet reader would; they mirror what report writes.
type readFlow struct {
	ClientIP            string         `parquet:"client_ip,dict"`
	ClientPort          int32          `parquet:"client_port"`
	ServerIP            string         `parquet:"server_ip,dict"`
	ServerPort          int32          `parquet:"server_port"`
	Verdict             string         `parquet:"verdict,dict"`
	Anomalies           []string       `parquet:"anomalies,list"`
	ClientISN           *int64         `parquet:"client_isn,optional"`
	ServerISN           *int64         `parquet:"server_isn,optional"`
	Evidence            []readEvidence `parquet:"evidence,list"`
	FirstTS             time.Time      `parquet:"first_ts,timestamp(nanosecond)"`
	SYNToSYNACKMs       *float64       `parquet:"syn_to_synack_ms,optional"`
	SYNACKToACKMs       *float64       `parquet:"synack_to_ack_ms,optional"`
	LastTS              time.Time      `parquet:"last_ts,timestamp(nanosecond)"`
	SYNFrame            *int64         `parquet:"syn_frame,optional"`
	SYNACKFrame         *int64         `parquet:"synack_frame,optional"`
	ACKFrame            *int64         `parquet:"ack_frame,optional"`
	SYNRetransmits      int32          `parquet:"syn_retransmits"`
	SYNACKRetransmits   int32          `parquet:"synack_retransmits"`
	DuplicateACKs       int32          `parquet:"duplicate_acks"`
	ClientPackets       int64          `parquet:"client_packets"`
	ServerPackets       int64          `parquet:"server_packets"`
	ClientMSS           *int32         `parquet:"client_mss,optional"`
	ClientWindowScale   *int32         `parquet:"client_window_scale,optional"`
	ClientSACKPermitted bool           `parquet:"client_sack_permitted"`
	ClientTimestamps    bool           `parquet:"client_timestamps"`
	ServerMSS           *int32         `parquet:"server_mss,optional"`
	ServerWindowScale   *int32         `parquet:"server_window_scale,optional"`
	ServerSACKPermitted bool           `parquet:"server_sack_permitted"`
	ServerTimestamps    bool           `parquet:"server_timestamps"`
	FastOpen            string         `parquet:"fast_open,dict"`
	ECN                 bool           `parquet:"ecn"`
	Close               string         `parquet:"close,dict"`
	ClientState         string         `parquet:"client_state,dict"`
	ServerState         string         `parquet:"server_state,dict"`
	CommunityID         string         `parquet:"community_id"`
	Tunnel              []readTunnel   `parquet:"tunnel,list"`
	Reason              string         `parquet:"reason"`
}

type readEvidence struct {
	Anomaly  string  `parquet:"anomaly,dict"`
	Fatal    bool    `parquet:"fatal"`
	File     int32   `parquet:"file"`
	Frame    int64   `parquet:"frame"`
	Field    *string `parquet:"field,optional"`
	Seen     *int64  `parquet:"seen,optional"`
	Expected *int64  `parquet:"expected,optional"`
}

type readTunnel struct {
	Type     string  `parquet:"type,dict"`
	OuterSrc string  `parquet:"outer_src"`
	OuterDst string  `parquet:"outer_dst"`
	IDName   *string `parquet:"id_name,optional"`
	ID       *int64  `parquet:"id,optional"`
}

// toMap turns a row read back into JSON-like values keyed by column name.
func toMap(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return toMap(v.Elem())
	case reflect.Slice:
		l := []any{}
		for i := range v.Len() {
			l = append(l, toMap(v.Index(i)))
		}
		return l
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			return t
		}
		m := map[string]any{}
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("parquet"), ",")
			m[name] = toMap(v.Field(i))
		}
		return m
	}
	return v.Interface()
}

// asNDJSON turns a row read back into what NDJSON writes: timestamps as
// RFC 3339 with nanoseconds, the tunnel level's id under its id_name, and
// unset optional fields of list elements left out.
func asNDJSON(row map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range row {
		switch x := v.(type) {
		case time.Time:
			out[k] = x.UTC().Format("2006-01-02T15:04:05.000000000Z")
		default:
			out[k] = v
		}
	}
	if ev, ok := out["evidence"].([]any); ok {
		for _, e := range ev {
			dropNulls(e.(map[string]any))
		}
	}
	if tun, ok := out["tunnel"].([]any); ok {
		for _, l := range tun {
			m := l.(map[string]any)
			if name, ok := m["id_name"].(string); ok {
				m[name] = m["id"]
			}
			delete(m, "id_name")
			delete(m, "id")
		}
	}
	return out
}

func dropNulls(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
}

// canon encodes v as JSON through float64 numbers, so that an int32 from
// Parquet and a number from NDJSON compare equal, and nil lists as [].
func canon(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unencodable %v", err)
	}
	var x any
	json.Unmarshal(b, &x)
	if x == nil {
		if _, isList := v.([]any); isList {
			return "[]"
		}
	}
	b, _ = json.Marshal(x)
	return string(b)
}
