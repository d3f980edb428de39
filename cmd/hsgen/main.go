// Command hsgen writes large, deterministic synthetic captures with a known
// mix of TCP handshake verdicts: the workload for benchmarking hsanalyze and
// for checking its counts at scale.
//
// Usage:
//
//	hsgen [flags] -o FILE
//
// Flags:
//
//	-shape S         mixed (default), synflood, synackflood or scan; see
//	                 Shapes
//	-flows N         connection attempts to write (default 200000)
//	-concurrency C   connections open at any time, about (default 2000)
//	-lifetime D      mean lifetime of a complete connection (default 4s)
//	-rate R          the shapes but mixed: attempts started per second
//	                 (default 7300 for the floods, 10000 for scan)
//	-seed S          random seed: ISNs, RTTs, sizes, order (default 1)
//	-o FILE          output capture; - is standard output (required)
//	-gzip            gzip-compress the output (level 6, like gzip(1))
//	-nano            nanosecond timestamps (default microseconds)
//	-expect FILE     also write the expected counts as JSON
//	-q               no summary line on standard error
//
// The output is a pcap file (version 2.4, little-endian, LINKTYPE_ETHERNET,
// IPv4) in timestamp order. The same flags always give the same bytes.
//
// # Timing
//
// Flows start at a steady rate, one every meanLifetime/C, from
// 2026-11-24T10:00:00Z, where meanLifetime is the mean time from a flow's
// first packet to its last over the mix (0.86×lifetime + 0.06 s, about
// 3.5 s by default): so about C connections are open at any time (the
// sidecar's generator.max_open tells the peak), whatever N is, and a
// streaming analyser's memory should depend on C, not on N. The capture
// spans N×meanLifetime/C (200000 flows: about 350 s). RTTs are uniform in
// 0.2 ms to 29.8 ms; complete connections last lifetime/2 to 3×lifetime/2.
// Note that half-open attempts never close: an analyser holds them until
// its idle timeout.
//
// # Mix
//
// Every block of 100 consecutive flows holds exactly these templates, in an
// order shuffled by the seed (the last block may be partial):
//
//	78 complete         SYN, SYN-ACK, ACK, request (80-400 bytes), 3 response
//	                    segments (100-600 bytes; 4 in one flow of four), ACK,
//	                    FIN, FIN, ACK: 11 or 12 packets       → complete
//	 6 complete_rst     handshake, request, one response, client RST+ACK:
//	                    6 packets                             → complete
//	 2 half_open_syn    a lone SYN                            → half_open
//	 2 half_open_retx   SYN, retransmitted after 1 s and 3 s  → half_open
//	 2 half_open_noack  SYN, SYN-ACK, no final ACK            → half_open
//	 1 half_open_icmp   SYN, ICMP host unreachable            → half_open
//	 4 refused          SYN, RST+ACK with ack = ISN+1         → refused
//	 3 malformed        SYN, SYN-ACK with ack = ISN+7, RST    → malformed
//	 2 midstream        request, ACK, response, ACK; no SYN   → midstream
//
// Three complete flows per block are preceded by a DNS query and answer
// (UDP): with the ICMP messages, the only packets that are not TCP.
// Segments carry Linux options (MSS, SACK permitted, timestamps, window
// scale on SYNs; timestamps on the rest of the connection) and random
// payload bytes, so the capture compresses about as badly as real traffic.
// With the defaults a flow averages 9.6 packets of 200 bytes (with the
// record header): 200000 flows make 1.92 M packets and 386 MB, 1000000
// flows 9.6 M packets and 1.93 GB.
//
// Each flow has its own 4-tuple: clients are 10.1.B.C (60000 hosts, ports
// 1024-65023, unique per host), servers 172.16.0.1-32 on ports 443, 80,
// 8080 and 22. ISNs are random.
//
// # Shapes
//
// -shape mixed (the default) writes the mix above. The other shapes are the
// hostile captures where handshake analysis matters most, and where an
// analyser that holds every unanswered SYN for its idle timeout runs out of
// memory:
//
//	synflood  one SYN per attempt from a distinct spoofed source
//	          (10.0.0.0/8, ports 32768-65535, scrambled by the seed) to
//	          192.0.2.10:80, never answered, retransmitted 0-3 times
//	          (uniformly) with the same ISN after 1, 3 and 7 s: 2.5
//	          packets per attempt on average, all half_open. At the
//	          default -rate, 2 M attempts make 5 M packets, 447 MB and
//	          about 280 s.
//	synackflood
//	          the same SYNs as synflood, not retransmitted (nobody sent
//	          them), as captured at a victim that answers each: a
//	          SYN-ACK one RTT later, retransmitted 0-2 times (uniformly)
//	          after 1 and 3 s, never acknowledged: 3 packets per attempt
//	          on average, all half_open, every attempt a full one in the
//	          analyser from its SYN-ACK on.
//	scan      one SYN scanner (10.66.0.1:51234, a fixed source port as
//	          nmap uses) probing one port per attempt: probes cycle over
//	          ceil(N/65535) hosts 172.20.B.C, each port of 1-65535 once
//	          per host in a scrambled order; 3 of 4 ports (drawn per
//	          probe) are closed and answer RST+ACK (refused), the rest
//	          are filtered and never answer (half_open). 1 M probes make
//	          1.75 M packets and about 100 s.
//
// They start attempts at a steady -rate and have no non-TCP packets; the
// sidecar's templates count synflood_syn, synackflood_synack, scan_closed
// and scan_filtered.
//
// # Expectations
//
// -expect writes a JSON object whose "summary" has the fields and meaning
// of hsanalyze --format json's summary (CONTRACT.md), so they can be
// compared directly; "templates" counts flows per template and
// "generator" records the parameters, the uncompressed size, the time span
// and the peak number of open flows.
//
// Exit status: 0 success, 2 usage error or failure to write.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usage is printed by -h and after a usage error.
const usage = `usage: hsgen [flags] -o FILE

Writes a deterministic synthetic pcap with a known mix of TCP handshake
verdicts (see go doc ./cmd/hsgen).

Workload:
  -shape S          mixed (default), synflood, synackflood or scan
  -flows N          connection attempts (default 200000)
  -concurrency C    connections open at once, about (default 2000)
  -lifetime D       mean lifetime of a complete connection (default 4s)
  -rate R           floods, scan: attempts per second (default 7300, 10000)
  -seed S           random seed (default 1)

Output:
  -o FILE           capture to write; - is standard output
  -gzip             gzip-compress the capture
  -nano             nanosecond timestamps
  -expect FILE      write the expected hsanalyze summary counts as JSON
  -q                no summary line on standard error
`

// run is the whole command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hsgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	p := params{}
	fs.IntVar(&p.flows, "flows", 200000, "")
	fs.IntVar(&p.concurrency, "concurrency", 2000, "")
	fs.DurationVar(&p.lifetime, "lifetime", 4*time.Second, "")
	fs.Uint64Var(&p.seed, "seed", 1, "")
	fs.BoolVar(&p.nano, "nano", false, "")
	fs.Float64Var(&p.rate, "rate", 0, "")
	fs.Func("shape", "", func(v string) (err error) {
		p.shape, err = parseShape(v)
		return err
	})
	out := fs.String("o", "", "")
	expect := fs.String("expect", "", "")
	gz := fs.Bool("gzip", false, "")
	quiet := fs.Bool("q", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "hsgen: %v\n%s", err, usage)
		return 2
	}
	if fs.NArg() > 0 || *out == "" {
		fmt.Fprintf(stderr, "hsgen: give the output file with -o and no arguments\n%s", usage)
		return 2
	}
	began := time.Now()
	exp, err := writeCapture(*out, stdout, *gz, p)
	if err != nil {
		fmt.Fprintf(stderr, "hsgen: %v\n", err)
		return 2
	}
	if *expect != "" {
		b, _ := json.MarshalIndent(exp, "", "  ") // plain structs and a map: cannot fail
		if err := os.WriteFile(*expect, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "hsgen: %v\n", err)
			return 2
		}
	}
	if !*quiet {
		fmt.Fprintf(stderr, "hsgen: %s: %d flows, %d packets, %d bytes uncompressed, %.0f s of traffic, peak %d open, in %.2f s\n",
			*out, exp.Summary.Flows, exp.Summary.Packets, exp.Generator.PcapBytes,
			exp.Generator.SpanSeconds, exp.Generator.MaxOpen, time.Since(began).Seconds())
	}
	return 0
}

// writeCapture generates the capture into path (stdout for -), gzipped
// when gz is set, and returns its expectations. A partly written file is
// removed.
func writeCapture(path string, stdout io.Writer, gz bool, p params) (exp Expect, err error) {
	var w io.Writer = stdout
	if path != "-" {
		f, cerr := os.Create(path)
		if cerr != nil {
			return Expect{}, cerr
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
			}
		}()
		w = f
	}
	if gz {
		// generate writes 1 MiB chunks; a buffer in front of the file
		// keeps gzip's small writes from being system calls.
		bw := bufio.NewWriterSize(w, 1<<20)
		zw, _ := gzip.NewWriterLevel(bw, gzip.DefaultCompression) // a valid level: no error
		if exp, err = generate(zw, p); err != nil {
			return Expect{}, err
		}
		if err := zw.Close(); err != nil {
			return Expect{}, err
		}
		return exp, bw.Flush()
	}
	return generate(w, p)
}
