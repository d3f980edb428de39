package report

import "testing"

// TestZeekEscaping follows Zeek's ASCII writer: non-printable bytes, the
// backslash and the tab as \xHH, the set separator inside sets, and the
// unset and empty markers escaped so that they stay values.
func TestZeekEscaping(t *testing.T) {
	tests := []struct {
		in    string
		inSet bool
		want  string
	}{
		{"plain", false, "plain"},
		{"", false, "(empty)"},
		{"-", false, `\x2d`},
		{"(empty)", false, `\x28empty)`},
		{"a\tb", false, `a\x09b`},
		{"a\nb\r", false, `a\x0ab\x0d`},
		{`back\slash`, false, `back\x5cslash`},
		{"a,b", false, "a,b"},
		{"a,b", true, `a\x2cb`},
		{"<script>::error::", false, "<script>::error::"},
		{"caf\xc3\xa9\xff", false, `caf\xc3\xa9\xff`},
	}
	for _, tt := range tests {
		if got := string(appendZeekString(nil, tt.in, tt.inSet)); got != tt.want {
			t.Errorf("appendZeekString(%q, set %v) = %q, want %q", tt.in, tt.inSet, got, tt.want)
		}
	}
}

func TestAppendEpoch(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{1795514400000000000, "1795514400.000000"},
		{1795514400123456789, "1795514400.123457"},
		{1795514400999999600, "1795514401.000000"},
		{700000, "0.000700"},
		{-1500, "-0.000002"},
	}
	for _, tt := range tests {
		if got := string(appendEpoch(nil, tt.ns)); got != tt.want {
			t.Errorf("appendEpoch(%d) = %s, want %s", tt.ns, got, tt.want)
		}
	}
}

func TestWorkflowEscaping(t *testing.T) {
	got := workflowCommand("error", [][2]string{{"file", "a:b,c%\n.pcap"}, {"title", "t"}}, "line1\nline2\r%0A::error::x\xff")
	want := "::error file=a%3Ab%2Cc%25%0A.pcap,title=t::line1%0Aline2%0D%250A::error::x\uFFFD\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
