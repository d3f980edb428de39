package capture_test

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hsanalyze/hsanalyze/capture"
)

// examplePcap returns a pcap file with a 60-byte packet at each of the
// given times (seconds after 2026-01-01T00:00:00Z).
func examplePcap(secs ...float64) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range secs {
		ts := start.Add(time.Duration(s * float64(time.Second)))
		w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: 60, Length: 60}, make([]byte, 60))
	}
	return buf.Bytes()
}

func ExampleOpen() {
	// "-" reads the given reader (the program's standard input).
	f, err := capture.Open("-", bytes.NewReader(examplePcap(0, 0.5)), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	var rec capture.Record
	for {
		err := f.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil { // damaged part-way: warn, keep the records so far
			fmt.Println("warning:", err)
			break
		}
		fmt.Println(rec.Frame, time.Unix(0, rec.Timestamp).UTC().Format(time.RFC3339Nano), len(rec.Data), rec.LinkType, rec.Offset)
	}
	// Output:
	// 1 2026-01-01T00:00:00Z 60 1 24
	// 2 2026-01-01T00:00:00.5Z 60 1 100
}

func ExampleMerger() {
	a, _ := capture.Open("-", bytes.NewReader(examplePcap(1, 3)), 0)
	b, _ := capture.Open("-", bytes.NewReader(examplePcap(2, 2.5)), 1)
	m := capture.NewMerger([]*capture.File{a, b})
	var rec capture.Record
	for {
		err := m.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil { // one file is damaged; the others go on
			fmt.Println("warning:", err)
			continue
		}
		fmt.Printf("file %d frame %d\n", rec.File, rec.Frame)
	}
	// Output:
	// file 0 frame 1
	// file 1 frame 1
	// file 1 frame 2
	// file 0 frame 2
}

func ExampleFileError() {
	_, err := capture.Open("-", bytes.NewReader([]byte("hello, world")), 0)
	fmt.Println(err)
	// Output:
	// -: offset 0: not a pcap or pcapng file: unknown magic number 68656c6c6f2c2077 ("hello, w"); looks like text, not a capture (printed tcpdump output? record with tcpdump -w FILE)
}
