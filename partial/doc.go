// Package partial makes analyses of parts of a capture mergeable into
// exactly the result of one analysis of the whole: the partial result of a
// part (rotated files, a flow-hash split, one host's share of a cluster
// job) carries its decided flows, the attempts still open at its end and
// the packets at its start that may continue an attempt of an earlier
// part. Merge orders the parts by capture time and continues the attempts
// that cross from one into the next.
//
// It sits above reassembly: a Recorder hooks into analyze.Options (every
// packet before tracking, the tracker's state before its final flush, the
// trace of attempts), and a Plan replays what it kept into one
// reassembly.Tracker restored from the earlier parts' open attempts. The
// file format, what the head keeps and why the merge is exact are in
// docs/partial.md.
package partial
