package report

import (
	"testing"

	"github.com/hsanalyze/hsanalyze/handshake"
)

func TestFailRules(t *testing.T) {
	var counts [5]uint64
	counts[handshake.Malformed] = 3
	counts[handshake.HalfOpen] = 5
	counts[handshake.Complete] = 192 // 200 flows
	tests := []struct {
		rule    string
		matches bool
		says    string
	}{
		{"malformed", true, "malformed 3"},
		{"refused", false, ""},
		{"malformed>3", false, ""},
		{"malformed>2", true, "malformed 3 > 2"},
		{"half_open>2.5%", false, ""},
		{"half_open>2.4%", true, "half_open 5 of 200 (2.5%) > 2.4%"},
		{"half_open>0%", true, "half_open 5 of 200 (2.5%) > 0%"},
		{"refused>0%", false, ""},
	}
	for _, tt := range tests {
		r, err := ParseFailRule(tt.rule)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if r.String() != tt.rule {
			t.Errorf("%s: String %q", tt.rule, r.String())
		}
		p := FailOn{Rules: []FailRule{r}}
		m := p.Matches(&counts)
		if (len(m) > 0) != tt.matches || tt.matches && m[0].String() != tt.says || p.Failing(r.Verdict, &counts) != tt.matches {
			t.Errorf("%s: matches %v, want %v %q", tt.rule, m, tt.matches, tt.says)
		}
	}
	for _, bad := range []string{"", "malformed>", "malformed>-1", "x>1", "half_open>100%", "half_open>NaN%", "half_open>1e400%"} {
		if _, err := ParseFailRule(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	var p FailOn
	p.Add(FailRule{Verdict: handshake.HalfOpen})
	p.Add(FailRule{Verdict: handshake.HalfOpen, Max: 4})
	if len(p.Rules) != 1 || p.Rules[0].Max != 4 {
		t.Errorf("a later rule for a verdict replaces the earlier: %+v", p.Rules)
	}
}
