// Package analyze wires the pipeline: capture records are merged across
// files, decoded into segments and tracked into connection attempts, whose
// finished flows are handed to a callback. It holds no TCP rules and
// formats nothing.
package analyze

import (
	"errors"
	"fmt"
	"io"

	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Options configures a run. The zero value uses the reassembly defaults and
// does not verify checksums.
type Options struct {
	// Tracker configures connection tracking.
	Tracker reassembly.Options
	// VerifyChecksums makes the decoder check TCP checksums.
	VerifyChecksums bool
	// Start, if set, is called once with the timestamp of the first packet
	// read (ns since the Unix epoch), before any flow is emitted.
	Start func(ts int64)
	// Warn, if set, is called for each part-way damage warning as it
	// happens (the warning is counted in Summary either way).
	Warn func(*capture.FileError)
}

// Summary counts what a run read.
type Summary struct {
	// Packets is the number of packet records read (pcapng: EPB, SPB, PB).
	Packets uint64
	// TCPPackets is the number of TCP segments analysed.
	TCPPackets uint64
	// Decoded counts records by what they decoded as.
	Decoded decode.Counters
	// Warnings lists part-way damage, one per damaged file.
	Warnings []*capture.FileError
	// FirstTS and LastTS are the earliest and latest capture timestamps
	// seen (ns since the Unix epoch); both 0 when no packet was read.
	FirstTS, LastTS int64
	// Flows is the number of connection attempts emitted.
	Flows uint64
}

// UnsupportedLinkError reports a file none of whose records has a link
// type hsanalyze decodes: nothing of it could be analysed.
type UnsupportedLinkError struct {
	Path     string
	LinkType uint32
}

func (e *UnsupportedLinkError) Error() string {
	return fmt.Sprintf("%s: no packet of a supported link type (LINKTYPE %d)", e.Path, e.LinkType)
}

// Run reads files to the end as one capture in timestamp order and calls
// emit for every connection attempt, as soon as it is final, in a
// deterministic order. The *reassembly.Flow passed to emit is only valid
// during the call. Run closes nothing; the caller owns the files.
//
// Damage part-way through a file is a warning (Summary.Warnings); the
// returned error is non-nil only for files of which nothing could be
// analysed (*UnsupportedLinkError, joined when there are several).
func Run(files []*capture.File, opts Options, emit func(*reassembly.Flow)) (Summary, error) {
	var sum Summary
	perFile := make([]fileStats, len(files))
	dec := decode.NewDecoder(decode.DecoderOptions{VerifyChecksums: opts.VerifyChecksums})
	tr := reassembly.New(opts.Tracker, func(f *reassembly.Flow) {
		sum.Flows++
		emit(f)
	})
	m := capture.NewMerger(files)
	var rec capture.Record
	var pkt decode.Packet
	for {
		err := m.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			var fe *capture.FileError
			if !errors.As(err, &fe) {
				return sum, fmt.Errorf("read: %w", err)
			}
			sum.Warnings = append(sum.Warnings, fe)
			if opts.Warn != nil {
				opts.Warn(fe)
			}
			continue
		}
		sum.Packets++
		if sum.Packets == 1 && opts.Start != nil {
			opts.Start(rec.Timestamp)
		}
		if sum.Packets == 1 || rec.Timestamp < sum.FirstTS {
			sum.FirstTS = rec.Timestamp
		}
		sum.LastTS = max(sum.LastTS, rec.Timestamp)
		dec.Decode(rec.LinkType, rec.Data, rec.OrigLen, &pkt)
		fs := &perFile[rec.File]
		fs.records++
		if pkt.Kind == decode.KindUnsupportedLink {
			fs.unsupported++
			fs.linkType = rec.LinkType
			continue
		}
		if pkt.Kind != decode.KindTCP && pkt.Kind != decode.KindICMPError {
			continue
		}
		if pkt.Kind == decode.KindTCP {
			sum.TCPPackets++
		}
		s := &pkt.Segment
		s.Timestamp, s.Frame, s.File, s.Interface = rec.Timestamp, rec.Frame, rec.File, rec.Interface
		tr.Add(&pkt)
	}
	tr.Flush()
	sum.Decoded = dec.Counters()

	var errs []error
	for i, fs := range perFile {
		if fs.records > 0 && fs.unsupported == fs.records {
			errs = append(errs, &UnsupportedLinkError{Path: files[i].Path(), LinkType: fs.linkType})
		}
	}
	return sum, errors.Join(errs...)
}

// fileStats tells files with only undecodable link types apart.
type fileStats struct {
	records, unsupported uint64
	linkType             uint32
}
