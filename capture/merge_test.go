package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// mergeOut is one merged record, as "file:frame@ts".
func mergeOut(r Record) string { return fmt.Sprintf("%d:%d@%d", r.File, r.Frame, r.Timestamp/1000) }

// openAll opens each capture as stdin with its slice index as file index.
func openAll(t *testing.T, files ...[]byte) []*File {
	t.Helper()
	var fs []*File
	for i, b := range files {
		f, err := Open("-", bytes.NewReader(b), i)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		t.Cleanup(func() { f.Close() })
		fs = append(fs, f)
	}
	return fs
}

// usec returns packets at the given microsecond timestamps, each with its
// timestamp as the first byte of data.
func usec(ts ...int64) []pkt {
	var ps []pkt
	for _, v := range ts {
		ps = append(ps, pkt{ts: v * 1000, data: frame(20, byte(v))})
	}
	return ps
}

// drain merges to the end: the records as mergeOut strings, and warnings.
func drain(t *testing.T, m *Merger) (out []string, warnings []error) {
	t.Helper()
	var rec Record
	for {
		err := m.Next(&rec)
		if err == io.EOF {
			return out, warnings
		}
		if err != nil {
			warnings = append(warnings, err)
			continue
		}
		if rec.Data[0] != byte(rec.Timestamp/1000) {
			t.Errorf("record %s carries data of another record", mergeOut(rec))
		}
		out = append(out, mergeOut(rec))
	}
}

func TestMerger(t *testing.T) {
	le := binary.LittleEndian
	truncated := pcapRecord(pcapLE(t, false, usec(15, 25)...), le, 0, 30, 100, 100, frame(10, 0))
	for _, tc := range []struct {
		name     string
		files    [][]byte
		want     string
		warnings int
	}{
		{
			name: "three-interleaved",
			files: [][]byte{
				pcapLE(t, false, usec(10, 40, 70)...),
				pcapBE(true, usec(20, 50, 80)...),
				gz(t, pcapLE(t, true, usec(30, 60, 90)...)),
			},
			want: "0:1@10 1:1@20 2:1@30 0:2@40 1:2@50 2:2@60 0:3@70 1:3@80 2:3@90",
		},
		{
			name: "ties-by-file-index",
			files: [][]byte{
				pcapLE(t, false, usec(10, 20, 20)...),
				pcapLE(t, false, usec(10, 20)...),
				pcapLE(t, false, usec(5, 20)...),
			},
			want: "2:1@5 0:1@10 1:1@10 0:2@20 0:3@20 1:2@20 2:2@20",
		},
		{
			name: "warning-mid-way",
			files: [][]byte{
				pcapLE(t, false, usec(10, 20, 30, 40)...),
				truncated, // 15, 25, then a record cut short
				pcapLE(t, false, usec(12, 35)...),
			},
			want:     "0:1@10 2:1@12 1:1@15 0:2@20 1:2@25 0:3@30 2:2@35 0:4@40",
			warnings: 1,
		},
		{
			name: "backwards-timestamps-keep-file-order",
			files: [][]byte{
				pcapLE(t, false, usec(50, 10, 60)...),
				pcapLE(t, false, usec(20, 30)...),
			},
			want: "1:1@20 1:2@30 0:1@50 0:2@10 0:3@60",
		},
		{
			name:  "empty-file",
			files: [][]byte{pcapLE(t, false), pcapLE(t, false, usec(1)...)},
			want:  "1:1@1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, warnings := drain(t, NewMerger(openAll(t, tc.files...)))
			if got := strings.Join(out, " "); got != tc.want {
				t.Errorf("merged\n got %s\nwant %s", got, tc.want)
			}
			if len(warnings) != tc.warnings {
				t.Errorf("warnings %v, want %d", warnings, tc.warnings)
			}
			for _, w := range warnings {
				if !errors.Is(w, ErrTruncated) {
					t.Errorf("warning %v, want ErrTruncated", w)
				}
			}
		})
	}
}

func TestMergerZeroValue(t *testing.T) {
	var m Merger
	var rec Record
	if err := m.Next(&rec); err != io.EOF {
		t.Fatalf("zero Merger Next = %v, want io.EOF", err)
	}
}

// TestMergerSlow checks the merge against a slow, obvious version: a stable
// sort of all records by (timestamp, file), on files whose timestamps are
// sorted.
func TestMergerSlow(t *testing.T) {
	var files [][]byte
	type key struct{ ts, file, frame int64 }
	var all []key
	seed := uint32(1)
	rnd := func(n int64) int64 { seed = seed*1664525 + 1013904223; return int64(seed>>8) % n }
	for f := range 6 {
		var ts []int64
		cur := int64(0)
		for i := range int(rnd(40)) {
			cur += rnd(5)
			ts = append(ts, cur)
			all = append(all, key{cur, int64(f), int64(i + 1)})
		}
		files = append(files, pcapLE(t, true, usec(ts...)...))
	}
	// Insertion sort: stable, obviously right.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && (all[j].ts < all[j-1].ts || all[j].ts == all[j-1].ts && all[j].file < all[j-1].file); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	var want []string
	for _, k := range all {
		want = append(want, fmt.Sprintf("%d:%d@%d", k.file, k.frame, k.ts))
	}
	out, warnings := drain(t, NewMerger(openAll(t, files...)))
	if strings.Join(out, " ") != strings.Join(want, " ") || warnings != nil {
		t.Errorf("merged\n got %v\nwant %v\nwarnings %v", out, want, warnings)
	}
}

// TestBytesReadConcurrent calls BytesRead from another goroutine while
// records are read, as a progress display does (run with -race).
func TestBytesReadConcurrent(t *testing.T) {
	ps, _ := benchPackets(5000)
	file := gz(t, pcapLE(t, false, ps...))
	f := openAll(t, file)[0]
	done := make(chan struct{})
	go func() {
		defer close(done)
		var last int64
		for range 1000 {
			n := f.BytesRead()
			if n < last || n > int64(len(file)) {
				t.Errorf("BytesRead went from %d to %d (file %d bytes)", last, n, len(file))
			}
			last = n
		}
	}()
	var rec Record
	for f.Next(&rec) == nil {
	}
	<-done
	if f.BytesRead() != int64(len(file)) || f.Size() != -1 {
		t.Errorf("BytesRead, Size = %d, %d; want %d, -1", f.BytesRead(), f.Size(), len(file))
	}
}
