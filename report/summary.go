package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// summaryWriter is -q for the machine formats: the summary only. json
// writes {"summary":{...}}, ndjson that object on one line, csv a header
// of the summary's keys and one row (nested values as JSON cells).
type summaryWriter struct {
	w      io.Writer
	format string
}

func (s *summaryWriter) Flow(*reassembly.Flow) error { return nil }

func (s *summaryWriter) Close(c *Capture, st *Stats) error {
	sum := appendSummaryJSON(nil, c, st)
	switch s.format {
	case "json", "ndjson":
		b := append(append([]byte(`{"summary":`), sum...), '}', '\n')
		_, err := s.w.Write(b)
		return err
	}
	// csv: the keys in order, then the values.
	dec := json.NewDecoder(bytes.NewReader(sum))
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	var head, row []byte
	for i := 0; dec.More(); i++ {
		k, err := dec.Token()
		if err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		if i > 0 {
			head, row = append(head, ','), append(row, ',')
		}
		head = appendCSVCell(head, []byte(k.(string)))
		var str string
		switch {
		case string(v) == "null":
		case json.Unmarshal(v, &str) == nil:
			row = appendCSVCell(row, []byte(str))
		default:
			row = appendCSVCell(row, v)
		}
	}
	_, err := s.w.Write(append(append(append(head, '\n'), row...), '\n'))
	return err
}
