package report

import "github.com/hsanalyze/hsanalyze/reassembly"

// AppendFlowRecord appends the flow codec's encoding of f to dst: lossless,
// 60-90 bytes for a typical flow (see flowcodec.go). hsanalyze --jobs holds
// the flows of the parts it analyses in parallel in it until they merge.
func AppendFlowRecord(dst []byte, f *reassembly.Flow) []byte { return appendFlowRecord(dst, f) }

// DecodeFlowRecord decodes one encoding made by AppendFlowRecord into f,
// reusing f's slices.
func DecodeFlowRecord(b []byte, f *reassembly.Flow) error { return decodeFlowRecord(b, f) }
