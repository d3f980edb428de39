package report

import "slices"

// Columns returns the field names of a flow, in output order: the keys of
// a flow object in JSON and NDJSON and the CSV header. The first twelve
// are fixed by CONTRACT.md; the rest are hsanalyze's own.
func Columns() []string { return slices.Clone(columns) }

// columns backs Columns; it is never modified.
var columns = []string{
	"client_ip", "client_port", "server_ip", "server_port",
	"verdict", "anomalies", "client_isn", "server_isn", "evidence",
	"first_ts", "syn_to_synack_ms", "synack_to_ack_ms",
	"last_ts", "syn_frame", "synack_frame", "ack_frame",
	"syn_retransmits", "synack_retransmits", "duplicate_acks",
	"client_packets", "server_packets",
	"client_mss", "client_window_scale", "client_sack_permitted", "client_timestamps",
	"server_mss", "server_window_scale", "server_sack_permitted", "server_timestamps",
	"fast_open", "ecn", "close", "client_state", "server_state",
	"community_id",
	"tunnel",
	"reason",
}

// column is a field of a flow: its place in columns, the order of the
// members of a flow object and of the cells of a CSV row.
type column uint8

const (
	colClientIP column = iota
	colClientPort
	colServerIP
	colServerPort
	colVerdict
	colAnomalies
	colClientISN
	colServerISN
	colEvidence
	colFirstTS
	colSYNToSYNACKMs
	colSYNACKToACKMs
	colLastTS
	colSYNFrame
	colSYNACKFrame
	colACKFrame
	colSYNRetransmits
	colSYNACKRetransmits
	colDuplicateACKs
	colClientPackets
	colServerPackets
	colClientMSS
	colClientWindowScale
	colClientSackPermitted
	colClientTimestamps
	colServerMSS
	colServerWindowScale
	colServerSackPermitted
	colServerTimestamps
	colFastOpen
	colECN
	colClose
	colClientState
	colServerState
	colCommunityID
	colTunnel
	colReason
	numColumns
)

// textColumn tells the columns whose JSON value is a string.
var textColumn = [numColumns]bool{
	colClientIP: true, colServerIP: true, colVerdict: true, colFirstTS: true, colLastTS: true,
	colFastOpen: true, colClose: true, colClientState: true, colServerState: true,
	colCommunityID: true, colReason: true,
}

// memberKey is what precedes a member's value in a flow object: `{"` for
// the first member, `,"` for the others, the name, `":` and, for a string
// value, the opening quote. It is padded to a fixed size, so that
// fieldAppender.key writes it with one fixed-size copy where appending
// the string called memmove (a third of the time of formatting a flow).
type memberKey struct {
	b [32]byte
	n int
}

// memberKeys are the keys of the columns in JSON, csvKeys what precedes
// a cell in CSV (a comma, but for the first). Both are made once and
// never modified.
var memberKeys, csvKeys = makeMemberKeys(), makeCSVKeys()

func makeCSVKeys() (keys [numColumns]memberKey) {
	for i := 1; i < len(keys); i++ {
		keys[i].n = copy(keys[i].b[:], ",")
	}
	return keys
}

func makeMemberKeys() (keys [numColumns]memberKey) {
	if len(columns) != int(numColumns) {
		panic("report: columns and the column constants differ")
	}
	for i, name := range columns {
		k := `,"` + name + `":`
		if i == 0 {
			k = `{"` + name + `":`
		}
		if textColumn[i] {
			k += `"`
		}
		if len(k) > len(keys[i].b) {
			panic("report: the key of " + name + " is longer than a memberKey")
		}
		keys[i].n = copy(keys[i].b[:], k)
	}
	return keys
}
