package handshake

import "fmt"

// Verdict is the judgement on one connection attempt (CONTRACT.md,
// "Verdicts"). The zero Verdict is Midstream: an attempt about which nothing,
// in particular no SYN, is known.
type Verdict uint8

// The verdicts. Their text forms are fixed by CONTRACT.md.
const (
	// Midstream: traffic of a connection whose SYN was not captured.
	Midstream Verdict = iota
	// Complete: SYN, SYN-ACK and ACK (or a correct simultaneous open) in
	// order with every number right.
	Complete
	// HalfOpen: a SYN was seen; the handshake neither completed nor was
	// refused.
	HalfOpen
	// Refused: the SYN was answered by an acceptable RST.
	Refused
	// Malformed: the handshake broke the protocol; a fatal Code says how.
	Malformed
	numVerdicts
)

var verdictNames = [numVerdicts]string{
	Midstream: "midstream",
	Complete:  "complete",
	HalfOpen:  "half_open",
	Refused:   "refused",
	Malformed: "malformed",
}

// Verdicts returns every verdict, in declaration order.
func Verdicts() []Verdict {
	v := make([]Verdict, numVerdicts)
	for i := range v {
		v[i] = Verdict(i)
	}
	return v
}

// String returns the CONTRACT.md spelling, such as "half_open".
func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// MarshalText implements encoding.TextMarshaler with the String form. It
// fails for a value outside the defined set.
func (v Verdict) MarshalText() ([]byte, error) {
	if v >= numVerdicts {
		return nil, fmt.Errorf("handshake: invalid verdict %d", uint8(v))
	}
	return []byte(verdictNames[v]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; see ParseVerdict.
func (v *Verdict) UnmarshalText(b []byte) error {
	p, err := ParseVerdict(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// ParseVerdict returns the verdict whose String form is s.
func ParseVerdict(s string) (Verdict, error) {
	for i, n := range verdictNames {
		if n == s {
			return Verdict(i), nil
		}
	}
	return 0, fmt.Errorf("handshake: unknown verdict %q", s)
}

// State is the TCP state of one endpoint as the capture implies it, with the
// RFC 9293 §3.3.2 names. The machine assumes each captured segment reached
// its destination: a receiver changes state when the segment is captured,
// as in RFC 9293 §3.5 Figure 6. The zero State is Closed.
type State uint8

// Endpoint states.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
	numStates
)

var stateNames = [numStates]string{
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN_SENT",
	SynReceived: "SYN_RCVD",
	Established: "ESTABLISHED",
	FinWait1:    "FIN_WAIT_1",
	FinWait2:    "FIN_WAIT_2",
	CloseWait:   "CLOSE_WAIT",
	Closing:     "CLOSING",
	LastAck:     "LAST_ACK",
	TimeWait:    "TIME_WAIT",
}

// States returns every State, in declaration order.
func States() []State {
	s := make([]State, numStates)
	for i := range s {
		s[i] = State(i)
	}
	return s
}

// String returns the state name, such as "SYN_SENT".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (s State) MarshalText() ([]byte, error) {
	if s >= numStates {
		return nil, fmt.Errorf("handshake: invalid state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// Role says what one segment was to the attempt it was fed to.
type Role uint8

// Segment roles.
const (
	// RoleNone: the segment was not consumed (Event.NewAttempt).
	RoleNone Role = iota
	// RoleSYN: the client's first SYN.
	RoleSYN
	// RoleSYNRetransmit: a SYN repeating the client's ISN.
	RoleSYNRetransmit
	// RoleSimultaneousSYN: a SYN without ACK from the server side while the
	// client's SYN is unanswered: a simultaneous open (RFC 9293 §3.5
	// Figure 7) or a split handshake.
	RoleSimultaneousSYN
	// RoleSYNACK: the first SYN-ACK of either side.
	RoleSYNACK
	// RoleSYNACKRetransmit: a later SYN-ACK (or server SYN) from the same side.
	RoleSYNACKRetransmit
	// RoleFinalACK: the segment that completed the handshake (a pure ACK,
	// data, a FIN, or the last SYN-ACK of a simultaneous open).
	RoleFinalACK
	// RoleDuplicateACK: a pure ACK repeating the final ACK's numbers.
	RoleDuplicateACK
	// RoleACK: another pure ACK.
	RoleACK
	// RoleData: a segment carrying payload.
	RoleData
	// RoleFIN: a segment with FIN (and no payload).
	RoleFIN
	// RoleRST: a segment with RST.
	RoleRST
	// RoleInvalid: a segment with an impossible flag combination.
	RoleInvalid
	// RoleICMP: an ICMP error quoting a segment of the attempt.
	RoleICMP
	numRoles
)

var roleNames = [numRoles]string{
	RoleNone:             "none",
	RoleSYN:              "syn",
	RoleSYNRetransmit:    "syn_retransmit",
	RoleSimultaneousSYN:  "syn_simultaneous",
	RoleSYNACK:           "synack",
	RoleSYNACKRetransmit: "synack_retransmit",
	RoleFinalACK:         "final_ack",
	RoleDuplicateACK:     "ack_duplicate",
	RoleACK:              "ack",
	RoleData:             "data",
	RoleFIN:              "fin",
	RoleRST:              "rst",
	RoleInvalid:          "invalid",
	RoleICMP:             "icmp",
}

// String returns the role name, such as "synack_retransmit".
func (r Role) String() string {
	if r < numRoles {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// FastOpen is the TCP Fast Open (RFC 7413) state of an attempt, judged from
// the client's SYN and the server's SYN-ACK.
type FastOpen uint8

// Fast Open states.
const (
	// FastOpenNone: the SYN carried no Fast Open option.
	FastOpenNone FastOpen = iota
	// FastOpenCookieRequest: the SYN carried an empty Fast Open option
	// (RFC 7413 §4.1.1).
	FastOpenCookieRequest
	// FastOpenCookie: the SYN carried a cookie but no data, or its SYN-ACK
	// was not captured.
	FastOpenCookie
	// FastOpenDataAccepted: cookie and data; the SYN-ACK acknowledged the
	// data (RFC 7413 §4.2.2).
	FastOpenDataAccepted
	// FastOpenDataRejected: cookie and data; the SYN-ACK acknowledged only
	// the SYN (RFC 7413 §3: the server may ignore the data).
	FastOpenDataRejected
	numFastOpen
)

var fastOpenNames = [numFastOpen]string{
	FastOpenNone:          "none",
	FastOpenCookieRequest: "cookie_request",
	FastOpenCookie:        "cookie",
	FastOpenDataAccepted:  "data_accepted",
	FastOpenDataRejected:  "data_rejected",
}

// String returns the state name, such as "data_accepted".
func (f FastOpen) String() string {
	if f < numFastOpen {
		return fastOpenNames[f]
	}
	return fmt.Sprintf("FastOpen(%d)", uint8(f))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (f FastOpen) MarshalText() ([]byte, error) {
	if f >= numFastOpen {
		return nil, fmt.Errorf("handshake: invalid fast open state %d", uint8(f))
	}
	return []byte(fastOpenNames[f]), nil
}

// Close says how a connection ended, as far as the capture shows.
type Close uint8

// Close kinds. A FIN records who closed first; an RST replaces a FIN record
// because it ends the connection at once. Only RSTs the receiver would
// accept count (RFC 9293 §3.10.7.3, RFC 5961 §3).
const (
	// NotClosed: no FIN and no acceptable RST was captured.
	NotClosed Close = iota
	// ClientFIN: the client sent the first FIN.
	ClientFIN
	// ServerFIN: the server sent the first FIN.
	ServerFIN
	// ClientRST: the client reset the connection.
	ClientRST
	// ServerRST: the server reset the connection (or refused it).
	ServerRST
	numClose
)

var closeNames = [numClose]string{
	NotClosed: "",
	ClientFIN: "client_fin",
	ServerFIN: "server_fin",
	ClientRST: "client_rst",
	ServerRST: "server_rst",
}

// String returns the close kind, such as "client_fin"; NotClosed is "".
func (c Close) String() string {
	if c < numClose {
		return closeNames[c]
	}
	return fmt.Sprintf("Close(%d)", uint8(c))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (c Close) MarshalText() ([]byte, error) {
	if c >= numClose {
		return nil, fmt.Errorf("handshake: invalid close kind %d", uint8(c))
	}
	return []byte(closeNames[c]), nil
}
