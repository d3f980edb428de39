// Package capture reads packet capture files into a stream of raw
// link-layer records. It does not decode packets: that is package decode's
// job.
//
// Open detects the format by its magic number, never by the file name:
// pcap (either byte order, microsecond or nanosecond timestamps), pcapng
// (any number of sections and interfaces), and either of them compressed
// with gzip, zstd, xz or bzip2. A file with another magic number is refused
// with an error naming its first bytes and, where they fit a known format
// (zip, LZ4, snoop, text…), what it may be. File.Next hands out one Record at a time; Merger merges several
// Files into one stream in timestamp order.
//
// Reading is zero-copy and allocation-free per record in steady state: a
// Record's Data points into the File's own buffer and stays valid only until
// the next call to Next on that File (for a Merger, until the next
// Merger.Next). Copy Data to keep it.
//
// Damage is reported, never panicked on. A file that cannot be read at all
// fails in Open. A file damaged part-way yields its records up to the damage,
// then one *FileError (a warning naming the byte offset), then io.EOF.
package capture
