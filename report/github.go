package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// GitHub collects what GitHub Actions shows of a run: workflow-command
// annotations for the --fail-on matches and a Markdown job summary. The
// runner keeps only 10 error annotations per step, so matches are
// aggregated by file, verdict and anomaly: at most 9 groups get an
// annotation each (largest first) and a 10th lists the rest. Memory is
// bounded by the number of such groups. Create it with NewGitHub; it is not
// safe for concurrent use.
type GitHub struct {
	policy  FailOn
	files   []string
	groups  map[ghKey]*ghGroup
	first   [5][]ghExample // the first failing candidates, by verdict
	started bool
}

// ghMaxAnnotations is GitHub's limit of error annotations per step.
const ghMaxAnnotations = 10

// ghExamples is how many attempts per verdict the job summary shows.
const ghExamples = 10

type ghKey struct {
	file    int
	verdict handshake.Verdict
	code    handshake.Code // the first anomaly, 0 if none
}

type ghGroup struct {
	key   ghKey
	count uint64
	first ghExample
}

// ghExample is one attempt, as the annotation and summary cite it.
type ghExample struct {
	file           int
	client, server string
	verdict        handshake.Verdict
	evidence       string
}

// NewGitHub returns a collector for the --fail-on policy p; files names
// the inputs.
func NewGitHub(p FailOn, files []string) *GitHub {
	return &GitHub{policy: p, files: files, groups: map[ghKey]*ghGroup{}}
}

// Flow records one attempt --fail-on judges.
func (g *GitHub) Flow(f *reassembly.Flow) {
	if _, ok := g.policy.Rule(f.Verdict); !ok {
		return
	}
	k := ghKey{file: f.File, verdict: f.Verdict}
	if len(f.Anomalies) > 0 {
		k.code = f.Anomalies[0]
	}
	gr := g.groups[k]
	if gr == nil {
		gr = &ghGroup{key: k, first: ghExampleOf(f)}
		g.groups[k] = gr
	}
	gr.count++
	if ex := &g.first[f.Verdict]; len(*ex) < ghExamples {
		*ex = append(*ex, ghExampleOf(f))
	}
}

// ghExampleOf cites f: its reason (which names the frame and the numbers
// of what went wrong) and the rule its first anomaly breaks.
func ghExampleOf(f *reassembly.Flow) ghExample {
	ex := ghExample{file: f.File, client: f.Client.String(), server: f.Server.String(), verdict: f.Verdict}
	ex.evidence = string(f.AppendReason(nil))
	if len(f.Anomalies) > 0 {
		if rfc := f.Anomalies[0].RFC(); rfc != "" {
			ex.evidence += "; " + rfc
		}
	}
	return ex
}

func (g *GitHub) fileName(i int) string {
	if i >= 0 && i < len(g.files) {
		return g.files[i]
	}
	return "capture"
}

// Annotations returns the workflow commands for the rules that matched
// under the verdict counts judged (indexed by handshake.Verdict): one
// "::error" line per group, at most 10 in all.
func (g *GitHub) Annotations(judged *[5]uint64) string {
	var groups []*ghGroup
	for _, gr := range g.groups {
		if g.policy.Failing(gr.key.verdict, judged) {
			groups = append(groups, gr)
		}
	}
	slices.SortFunc(groups, func(a, b *ghGroup) int {
		return cmp.Or(cmp.Compare(b.count, a.count), cmp.Compare(a.key.file, b.key.file),
			cmp.Compare(a.key.verdict, b.key.verdict), cmp.Compare(a.key.code, b.key.code))
	})
	var b strings.Builder
	shown := groups
	if len(groups) > ghMaxAnnotations {
		shown = groups[:ghMaxAnnotations-1]
	}
	for _, gr := range shown {
		what := gr.key.verdict.String()
		if gr.key.code != 0 {
			what += " (" + gr.key.code.String() + ")"
		}
		title := fmt.Sprintf("hsanalyze: %d %s", gr.count, what)
		msg := fmt.Sprintf("%d attempt(s) %s; first: %s → %s", gr.count, what, gr.first.client, gr.first.server)
		if gr.first.evidence != "" {
			msg += ": " + gr.first.evidence
		}
		b.WriteString(workflowCommand("error", [][2]string{{"file", g.fileName(gr.key.file)}, {"title", title}}, msg))
	}
	if rest := groups[len(shown):]; len(rest) > 0 {
		var n uint64
		var parts []string
		for _, gr := range rest {
			n += gr.count
			what := gr.key.verdict.String()
			if gr.key.code != 0 {
				what += "/" + gr.key.code.String()
			}
			parts = append(parts, fmt.Sprintf("%d %s in %s", gr.count, what, g.fileName(gr.key.file)))
		}
		title := fmt.Sprintf("hsanalyze: %d more attempts in %d more groups", n, len(rest))
		b.WriteString(workflowCommand("error", [][2]string{{"title", title}}, strings.Join(parts, ", ")+" (see the job summary)"))
	}
	return b.String()
}

// workflowCommand formats ::cmd k=v,...::msg with GitHub's escaping
// (actions/toolkit command.ts): % CR LF in the message, also : and , in
// property values. Invalid UTF-8 becomes U+FFFD.
func workflowCommand(cmd string, props [][2]string, msg string) string {
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(cmd)
	for i, p := range props {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(escapeWorkflow(p[1], true))
	}
	b.WriteString("::")
	b.WriteString(escapeWorkflow(msg, false))
	b.WriteByte('\n')
	return b.String()
}

func escapeWorkflow(s string, property bool) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	if property {
		r = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	}
	return r.Replace(s)
}

// Summary returns the Markdown job summary: the verdict counts, whether
// --fail-on matched, the top anomalies and the first failing attempts with
// their evidence.
func (g *GitHub) Summary(c *Capture, s *Stats, judged *[5]uint64) string {
	var b strings.Builder
	b.WriteString("## hsanalyze: TCP handshakes\n\n")
	if m := g.policy.Matches(judged); len(m) > 0 {
		fmt.Fprintf(&b, "**%s**\n\n", mdCell(FailMessage(m)))
	} else if len(g.policy.Rules) > 0 {
		rules := make([]string, len(g.policy.Rules))
		for i, r := range g.policy.Rules {
			rules[i] = r.String()
		}
		fmt.Fprintf(&b, "--fail-on %s: passed\n\n", mdCell(strings.Join(rules, ",")))
	}
	fmt.Fprintf(&b, "%d packets (%d TCP) in %d file(s), %d connection attempts.\n\n", c.Packets, c.TCPPackets, len(c.Files), s.Flows)
	b.WriteString("| verdict | attempts |\n| --- | ---: |\n")
	for i, v := range reportVerdicts {
		fmt.Fprintf(&b, "| %s | %d |\n", v, s.ByVerdict[i])
	}
	if top := s.TopAnomalies(10); len(top) > 0 {
		b.WriteString("\n### Top anomalies\n\n| anomaly | attempts | rule |\n| --- | ---: | --- |\n")
		for _, a := range top {
			fmt.Fprintf(&b, "| `%s` | %d | %s |\n", a.Key, a.Count, mdCell(a.Key.RFC()))
		}
	}
	var failing []ghExample
	for v := range g.first {
		if g.policy.Failing(handshake.Verdict(v), judged) {
			failing = append(failing, g.first[v]...)
		}
	}
	if len(failing) > 0 {
		b.WriteString("\n### First failing attempts\n\n| file | client → server | verdict | evidence |\n| --- | --- | --- | --- |\n")
		for _, ex := range failing {
			fmt.Fprintf(&b, "| %s | %s → %s | %s | %s |\n", mdCell(g.fileName(ex.file)), ex.client, ex.server, ex.verdict, mdCell(ex.evidence))
		}
	}
	b.WriteByte('\n')
	return b.String()
}

// mdCell makes s safe inside a Markdown table cell of GitHub's renderer:
// HTML-significant characters become entities (no markup from a capture
// ever renders), pipes and backticks are escaped, line breaks become
// spaces, invalid UTF-8 becomes U+FFFD.
func mdCell(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '|':
			b.WriteString(`\|`)
		case '`', '*', '_', '[', ']', '\\', '#':
			b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			if r < 0x20 {
				b.WriteRune(utf8.RuneError)
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
