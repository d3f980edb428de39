// Package decode turns captured link-layer frames into plain TCP segment
// values. It is the only package of hsanalyze that imports gopacket: what it
// hands out (Segment, Packet) holds copies of header fields and never points
// into the packet buffer, so callers may keep it after the next frame.
//
// A Decoder (one per input goroutine) decodes, in order:
//  1. the link layer of a supported LINKTYPE_ (see Supported): Ethernet
//     with any number of 802.1Q/802.1ad tags, PPPoE, MPLS, 802.1ah PBB,
//     VN-Tag and Cisco FabricPath under it; Linux cooked v1 and v2 (also
//     of 802.11 monitor interfaces); BSD and OpenBSD loopback; PPP (and
//     Cisco HDLC in it); raw IP; and, in linktypes.go, Cisco HDLC, NFLOG,
//     802.11 with or without radiotap, IP over InfiniBand;
//  2. IPv4 (options skipped, padding cut by the total length) or IPv6
//     (hop-by-hop, routing, destination options, atomic fragment and AH
//     headers skipped); a fragment stops here as KindFragment, described
//     by Packet.Frag for package defrag, and DecodeReassembled goes on
//     with the reassembled datagram;
//  3. TCP, with the options a handshake needs, or an ICMP/ICMPv6 error
//     quoting the start of a TCP segment.
//
// Lengths come from the IP header, not from the captured bytes: a frame
// cut by the snap length still yields its segment (PayloadLen as sent,
// options parsed as far as captured, OptTruncated), while an IP length
// larger than the frame was on the wire makes the frame KindBadPacket.
//
// Tunnels are entered (tunnel.go): IP-in-IP in all four combinations, GRE
// and PPTP's enhanced GRE, ERSPAN I/II/III, and over UDP VXLAN, GENEVE,
// Teredo, GTP-U and AYIYA. Each records a TunnelLevel in Packet.Tunnel, a
// fixed-size comparable value; at most MaxNesting encapsulations are
// entered. IP fragments are not reassembled here: decode is stateless.
package decode
