package handshake

import "github.com/hsanalyze/hsanalyze/decode"

// SynOptions is the part of a SYN's or SYN-ACK's options that the handshake
// negotiates. A field is valid iff its bit is set in Present, as in
// decode.Options.
type SynOptions struct {
	Present decode.OptionSet
	// MSS is the maximum segment size (valid iff Present has decode.OptMSS).
	MSS uint16
	// WindowScale is the shift count as sent, before any clamp to 14 (valid
	// iff Present has decode.OptWindowScale).
	WindowScale uint8
	// CookieLen is the Fast Open cookie length, 0 for a cookie request
	// (valid iff Present has decode.OptFastOpen).
	CookieLen uint8
}

func synOptions(o *decode.Options) SynOptions {
	return SynOptions{Present: o.Present, MSS: o.MSS, WindowScale: o.WindowScale, CookieLen: o.CookieLen}
}

// Has reports whether every option in want is present.
func (o SynOptions) Has(want decode.OptionSet) bool { return o.Present&want == want }

// Event is what one call to Machine.Step or Machine.ICMP did.
type Event struct {
	// Role is what the segment was to the attempt.
	Role Role
	// Client and Server are the endpoint states after the segment.
	Client, Server State
	// Anomalies are the anomalies this segment raised, nil if none. The
	// slice aliases the Machine's storage: read it before the next call, do
	// not modify it.
	Anomalies []Anomaly
	// NewAttempt reports that the segment does not belong to this attempt
	// but starts a new one: the Machine did not consume it (Role is
	// RoleNone, nothing changed). The caller finishes this Machine and feeds
	// the segment to a fresh one. A fresh Machine never sets it.
	NewAttempt bool
	// Completed reports that this segment completed the handshake.
	Completed bool
	// FromClient is the direction the Machine took the segment in: true
	// for the client's. It is the caller's direction except on a
	// self-connect (Src == Dst: a SYN-ACK is the server's, every other
	// segment the client's) and once the Machine swapped the roles of a
	// midstream attempt. The roles are those known when the segment was
	// fed: a midstream attempt is flipped at most once, by its first
	// SYN-ACK (the event with Flipped set, whose FromClient is already
	// false), so the attempt's events before that one are in the opposite
	// of the final roles (Result.Flipped), the others in the final ones.
	// For an ICMP event it is the direction of the quoted segment. False
	// when NewAttempt.
	FromClient bool
	// Flipped reports that this segment swapped the roles the caller gave
	// (Result.Flipped): the FromClient of the attempt's earlier events is
	// to be read inverted.
	Flipped bool
}

// Result summarises an attempt. Fields whose name has a Has twin are valid
// iff that flag is set. Fields are ordered to keep the struct small.
type Result struct {
	// Evidence lists every anomaly occurrence in the order raised, nil if
	// none. It aliases the Machine's storage; the Machine only appends.
	Evidence []Anomaly
	// ClientISN is the seq of the client's SYN; ServerISN that of the
	// server's SYN-ACK (or of its SYN in a simultaneous open). When the
	// server offered several ISNs (synack_changed_seq), ServerISN is the
	// one the client's final ACK acknowledged, else the first.
	ClientISN, ServerISN decode.Seq
	// SYNFrame, SYNACKFrame and ACKFrame are the frames of the client's
	// first SYN, the first SYN-ACK (either side) and the segment that
	// completed the handshake; 0 when not captured.
	SYNFrame, SYNACKFrame, ACKFrame uint64
	// SYNToSYNACK is the time in ns from the SYN transmission the first
	// SYN-ACK answers (the SYN whose TSval the SYN-ACK echoes, else the
	// last SYN captured before it) to that SYN-ACK. SYNACKToACK runs from
	// the last SYN-ACK captured before the completing segment to it. A
	// negative time (reordered capture) is not measurable.
	SYNToSYNACK, SYNACKToACK int64
	// ClientPackets and ServerPackets count the segments fed per direction.
	ClientPackets, ServerPackets uint32
	// ClientOptions are the options of the client's first SYN;
	// ServerOptions those of the server's first SYN-ACK (or SYN).
	ClientOptions, ServerOptions SynOptions
	// SYNRetransmits counts client SYNs repeating the ISN; SYNACKRetransmits
	// counts SYN-ACKs (and server SYNs) after the first from the same side;
	// DuplicateACKs counts pure ACKs repeating the completing ACK.
	SYNRetransmits, SYNACKRetransmits, DuplicateACKs uint16
	// Verdict is the judgement (see Machine.Verdict).
	Verdict                        Verdict
	HasClientISN, HasServerISN     bool
	HasSYNToSYNACK, HasSYNACKToACK bool
	// ECN reports an ECN-setup SYN (ECE+CWR) answered by an ECN-setup
	// SYN-ACK (ECE without CWR), RFC 3168 §6.1.1.
	ECN bool
	// Flipped reports that the Machine swapped the roles its caller gave:
	// a midstream attempt whose first SYN-ACK came from the side the caller
	// called client. All other fields already use the corrected roles.
	Flipped bool
	// FastOpen is the RFC 7413 state; Close how the connection ended.
	FastOpen FastOpen
	Close    Close
	// ClientState and ServerState are the final endpoint states.
	ClientState, ServerState State
	// Tale is what AppendReason tells the reason from.
	Tale Tale
}

// Has reports whether a at least one occurrence of code was raised.
func (r *Result) Has(code Code) bool {
	for i := range r.Evidence {
		if r.Evidence[i].Code == code {
			return true
		}
	}
	return false
}

// Result summarises the attempt so far.
func (m *Machine) Result() Result {
	r := Result{
		Verdict:           m.Verdict(),
		Evidence:          m.evidence(),
		ClientISN:         m.sd[cli].isn,
		ServerISN:         m.sd[srv].isn,
		HasClientISN:      m.has(bCSyn),
		HasServerISN:      m.has(bSSyn) && !m.has(bSSynInferred),
		ECN:               m.has(bECNSyn) && m.has(bECNSynAck),
		Flipped:           m.has(bFlipped),
		SYNFrame:          m.getWide(wSynFrame),
		SYNACKFrame:       m.getWide(wSynAckFrame),
		ACKFrame:          m.getWide(wAckFrame),
		SYNToSYNACK:       int64(m.getWide(wSynToSynAck)),
		SYNACKToACK:       int64(m.getWide(wSynAckToAck)),
		HasSYNToSYNACK:    m.has(bHasSynToSynAck),
		HasSYNACKToACK:    m.has(bHasSynAckToAck),
		FastOpen:          m.fastOpen,
		Close:             m.close,
		SYNRetransmits:    m.synRetx,
		SYNACKRetransmits: m.synAckRetx,
		DuplicateACKs:     m.dupAcks,
		ClientPackets:     m.sd[cli].pkts,
		ServerPackets:     m.sd[srv].pkts,
		ClientOptions:     m.sd[cli].opts,
		ServerOptions:     m.sd[srv].opts,
	}
	r.ClientState, r.ServerState = m.states()
	r.Tale = m.taleResult()
	return r
}
