// Package rezip rewrites the records of a partial-analysis file (a JSON
// header line, then a zstd stream) for tests that need damage the zstd
// checksum does not catch: a byte a buggy writer could have got wrong.
package rezip

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Records returns the decompressed records of the partial b, failing t if
// they cannot be read.
func Records(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(b[BodyStart(b):]))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Partial returns a copy of the partial b whose records fn has changed in
// place, compressed again with a valid checksum.
func Partial(t testing.TB, b []byte, fn func(records []byte)) []byte {
	t.Helper()
	raw := Records(t, b)
	fn(raw)
	var out bytes.Buffer
	out.Write(b[:BodyStart(b)])
	zw, err := zstd.NewWriter(&out, zstd.WithWindowSize(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// BodyStart is the offset of the partial b's zstd stream: just past its
// header line.
func BodyStart(b []byte) int { return bytes.Index(b, []byte("}\n")) + 2 }
