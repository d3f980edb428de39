package capture

import "strings"

// Metadata is what a pcapng file says about itself in its Section Header
// and Interface Description Blocks: text written by whoever made the
// capture, so possibly hostile. It is empty for pcap files. Its size is
// bounded whatever the file holds: at most maxMetaEntries entries of each
// kind, each cut to maxMetaLen bytes of valid UTF-8.
type Metadata struct {
	// Comments are the shb_comment and opt_comment options of the
	// section headers and interfaces, in file order.
	Comments []string
	// Interfaces names each interface: its if_name, with its
	// if_description after " – " when it has one.
	Interfaces []string
	// Dropped counts entries beyond the bound.
	Dropped int
}

// Bounds of Metadata.
const (
	maxMetaEntries = 64
	maxMetaLen     = 256
)

// pcapng option codes of text the metadata keeps.
const (
	optComment       = 1 // opt_comment, in any block
	optIfName        = 2 // if_name, in an IDB
	optIfDescription = 3 // if_description, in an IDB
)

// metaText cuts b to maxMetaLen bytes (a rune cut in two becomes U+FFFD)
// and makes it valid UTF-8.
func metaText(b []byte) string {
	return strings.ToValidUTF8(string(b[:min(len(b), maxMetaLen)]), "\uFFFD")
}

func (m *Metadata) add(list *[]string, s string) {
	if len(*list) >= maxMetaEntries {
		m.Dropped++
		return
	}
	*list = append(*list, s)
}

// Metadata returns what the file said about itself so far (all of it once
// the file has been read to the end).
func (f *File) Metadata() Metadata {
	if ng, ok := f.src.(*ngReader); ok {
		return ng.meta
	}
	return Metadata{}
}
