// Package decode turns captured link-layer frames into plain TCP segment
// values. It is the only package of hsanalyze that imports gopacket: what it
// hands out (Segment, Packet) holds copies of header fields and never points
// into the packet buffer, so callers may keep it after the next frame.
package decode
