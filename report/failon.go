package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hsanalyze/hsanalyze/handshake"
)

// FailRule is one item of --fail-on: a verdict and how many flows of it
// are tolerated. The rule matches when more than Max flows (IsPercent:
// more than Percent per cent of all selected flows) have the verdict; a
// bare verdict tolerates none.
type FailRule struct {
	Verdict   handshake.Verdict
	Max       uint64
	Percent   float64
	IsPercent bool
}

// String returns the rule as written on the command line, such as
// "half_open>2%".
func (r FailRule) String() string {
	switch {
	case r.IsPercent:
		return r.Verdict.String() + ">" + strconv.FormatFloat(r.Percent, 'f', -1, 64) + "%"
	case r.Max > 0:
		return r.Verdict.String() + ">" + strconv.FormatUint(r.Max, 10)
	}
	return r.Verdict.String()
}

// ParseFailRule parses VERDICT, VERDICT>N or VERDICT>P%.
func ParseFailRule(s string) (FailRule, error) {
	name, limit, hasLimit := strings.Cut(s, ">")
	v, err := handshake.ParseVerdict(strings.TrimSpace(name))
	if err != nil {
		return FailRule{}, fmt.Errorf("unknown verdict %q", strings.TrimSpace(name))
	}
	r := FailRule{Verdict: v}
	if !hasLimit {
		return r, nil
	}
	limit = strings.TrimSpace(limit)
	if p, ok := strings.CutSuffix(limit, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f >= 100 || f != f {
			return FailRule{}, fmt.Errorf("%q: the threshold must be a percentage from 0 to below 100, such as %s>2%%", s, v)
		}
		r.Percent, r.IsPercent = f, true
		return r, nil
	}
	n, err := strconv.ParseUint(limit, 10, 64)
	if err != nil {
		return FailRule{}, fmt.Errorf("%q: the threshold must be a count or a percentage, such as %s>5 or %s>2%%", s, v, v)
	}
	r.Max = n
	return r, nil
}

// FailOn is the --fail-on policy: the rules, at most one per verdict (a
// later rule for a verdict replaces an earlier one). The zero FailOn
// judges nothing.
type FailOn struct {
	Rules []FailRule
}

// Add adds r, replacing a rule of the same verdict.
func (p *FailOn) Add(r FailRule) {
	for i := range p.Rules {
		if p.Rules[i].Verdict == r.Verdict {
			p.Rules[i] = r
			return
		}
	}
	p.Rules = append(p.Rules, r)
}

// Rule returns the rule for v, if any.
func (p *FailOn) Rule(v handshake.Verdict) (FailRule, bool) {
	for _, r := range p.Rules {
		if r.Verdict == v {
			return r, true
		}
	}
	return FailRule{}, false
}

// FailMatch is a rule that matched: Count of Total flows had its verdict.
type FailMatch struct {
	FailRule
	Count, Total uint64
}

// String says what matched, such as "half_open 5 of 120 (4.2%) > 2%".
func (m FailMatch) String() string {
	switch {
	case m.IsPercent:
		return fmt.Sprintf("%s %d of %d (%s%%) > %s%%", m.Verdict, m.Count, m.Total, pctString(m.Count, m.Total), strconv.FormatFloat(m.Percent, 'f', -1, 64))
	case m.Max > 0:
		return fmt.Sprintf("%s %d > %d", m.Verdict, m.Count, m.Max)
	}
	return fmt.Sprintf("%s %d", m.Verdict, m.Count)
}

func pctString(n, of uint64) string {
	if of == 0 {
		return "0"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64)
}

// matches reports whether count of total flows exceed r's threshold.
func (r FailRule) matches(count, total uint64) bool {
	if r.IsPercent {
		return count > 0 && float64(count)*100 > r.Percent*float64(total)
	}
	return count > r.Max
}

// Matches returns the rules whose threshold the counts exceed, in rule
// order; byVerdict is indexed by handshake.Verdict.
func (p *FailOn) Matches(byVerdict *[5]uint64) []FailMatch {
	var total uint64
	for _, n := range byVerdict {
		total += n
	}
	var out []FailMatch
	for _, r := range p.Rules {
		if c := byVerdict[r.Verdict]; r.matches(c, total) {
			out = append(out, FailMatch{FailRule: r, Count: c, Total: total})
		}
	}
	return out
}

// Failing reports whether a flow of verdict v fails under the counts: its
// verdict has a rule and the rule matched.
func (p *FailOn) Failing(v handshake.Verdict, byVerdict *[5]uint64) bool {
	r, ok := p.Rule(v)
	if !ok {
		return false
	}
	var total uint64
	for _, n := range byVerdict {
		total += n
	}
	return r.matches(byVerdict[v], total)
}

// FailMessage is the one line the command prints on stderr when --fail-on
// matched, such as "--fail-on matched: malformed 2; half_open 5 of 120
// (4.2%) > 2%".
func FailMessage(m []FailMatch) string {
	parts := make([]string, len(m))
	for i, x := range m {
		parts[i] = x.String()
	}
	return "--fail-on matched: " + strings.Join(parts, "; ")
}
