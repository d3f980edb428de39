package handshake

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryCode fails when docs/anomalies.md does not document a
// Code or Verdict (each must appear as a `code` heading or table cell).
func TestDocsListEveryCode(t *testing.T) {
	b, err := os.ReadFile("../docs/anomalies.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range Codes() {
		if !strings.Contains(doc, "### `"+c.String()+"`") {
			t.Errorf("docs/anomalies.md has no section for %v", c)
		}
	}
	for _, v := range Verdicts() {
		if !strings.Contains(doc, "`"+v.String()+"`") {
			t.Errorf("docs/anomalies.md does not mention verdict %v", v)
		}
	}
}
