package connstate

// State is a conn_state value of Zeek's conn.log.
type State uint8

// The conn_state values, with Zeek's meanings (base/protocols/conn/main.zeek).
const (
	// OTH: no SYN seen, just midstream traffic.
	OTH State = iota
	// S0: connection attempt seen, no reply.
	S0
	// S1: connection established, not terminated.
	S1
	// SF: normal establishment and termination.
	SF
	// REJ: connection attempt rejected.
	REJ
	// S2: established, close attempt by the originator seen, no reply.
	S2
	// S3: established, close attempt by the responder seen, no reply.
	S3
	// RSTO: established, the originator aborted (sent a RST).
	RSTO
	// RSTR: the responder sent a RST.
	RSTR
	// RSTOS0: the originator sent a SYN then a RST; no SYN-ACK seen.
	RSTOS0
	// RSTRH: the responder sent a SYN-ACK then a RST; no SYN seen.
	RSTRH
	// SH: the originator sent a SYN then a FIN; no SYN-ACK seen.
	SH
	// SHR: the responder sent a SYN-ACK then a FIN; no SYN seen.
	SHR
	numStates
)

var stateNames = [numStates]string{"OTH", "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR"}

// States returns all 13 states in declaration order.
func States() []State {
	out := make([]State, numStates)
	for i := range out {
		out[i] = State(i)
	}
	return out
}

// String returns Zeek's spelling, such as "RSTOS0".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "OTH"
}

// Summary is the conn.log view of a connection. Orig is Zeek's originator:
// side A of Conn.Add unless OrigIsA is false.
type Summary struct {
	State State
	// History is Zeek's history string (at most HistoryCap bytes).
	History [HistoryCap]byte
	HistLen uint8
	// OrigIsA says that Zeek's originator is side A.
	OrigIsA bool
	// HasDuration is false when the connection lasted 0 s (a single
	// packet): Zeek then leaves duration, orig_bytes and resp_bytes unset.
	HasDuration bool
	// FirstTS is the first packet's time, Duration the time to the last
	// packet before both sides closed (ns).
	FirstTS, Duration int64
	// OrigBytes and RespBytes are payload bytes from sequence space;
	// MissedBytes counts content gaps.
	OrigBytes, RespBytes, MissedBytes uint64
	// Packets and IP-level bytes per side (IP total length).
	OrigPkts, OrigIPBytes, RespPkts, RespIPBytes uint64
}

// HistoryString returns History as a string.
func (s *Summary) HistoryString() string { return string(s.History[:s.HistLen]) }

// Summary returns the conn.log view of what was added so far.
func (c *Conn) Summary() Summary {
	o, r := &c.ep[0], &c.ep[1]
	if c.origB {
		o, r = r, o
	}
	sum := Summary{
		History:     c.hist,
		HistLen:     c.histLen,
		OrigIsA:     !c.origB,
		FirstTS:     c.firstTS,
		Duration:    c.lastTS - c.firstTS,
		MissedBytes: c.missed,
		OrigPkts:    uint64(o.pkts), OrigIPBytes: o.ipBytes,
		RespPkts: uint64(r.pkts), RespIPBytes: r.ipBytes,
	}
	sum.HasDuration = sum.Duration > 0
	osz, rsz := o.size(r), r.size(o)
	sum.OrigBytes, sum.RespBytes = osz, rsz
	sum.State = connState(o.state, r.state, osz, rsz, sum.HistoryString())
	return sum
}

// connState is conn_state of base/protocols/conn/main.zeek for TCP.
func connState(os, rs epState, osz, rsz uint64, history string) State {
	oInactive := os == inactive || os == partial
	rInactive := rs == inactive || rs == partial
	switch {
	case rs == reset:
		switch {
		case os == synSent || os == synAckSent || os == reset && osz == 0 && rsz == 0:
			return REJ
		case oInactive:
			return RSTRH
		}
		return RSTR
	case os == reset:
		if rInactive {
			if rstOS0(history) {
				return RSTOS0
			}
			return OTH
		}
		return RSTO
	case rs == closed && os == closed:
		return SF
	case os == closed:
		if rInactive {
			return SH
		}
		return S2
	case rs == closed:
		if oInactive {
			return SHR
		}
		return S3
	case os == synSent && rs == inactive:
		return S0
	case os == established && rs == established:
		return S1
	}
	return OTH
}

// rstOS0 matches Zeek's /\^?S[^HAFGIQ]*R.*/ against the whole history.
func rstOS0(h string) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for i := 1; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
