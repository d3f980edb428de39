package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

func noEnv(string) string { return "" }

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c *config)
	}{
		{"flags before files", []string{"--format", "json", "a.pcap"}, nil, func(t *testing.T, c *config) {
			if c.format != "json" || !slices.Equal(c.files, []string{"a.pcap"}) {
				t.Errorf("format %q files %q", c.format, c.files)
			}
		}},
		{"flags after files", []string{"a.pcap", "--format", "json", "b.pcap", "--all"}, nil, func(t *testing.T, c *config) {
			if c.format != "json" || !c.all || !slices.Equal(c.files, []string{"a.pcap", "b.pcap"}) {
				t.Errorf("format %q all %v files %q", c.format, c.all, c.files)
			}
		}},
		{"double dash ends flags", []string{"--", "--all", "-q"}, nil, func(t *testing.T, c *config) {
			if c.all || c.quiet || !slices.Equal(c.files, []string{"--all", "-q"}) {
				t.Errorf("all %v quiet %v files %q", c.all, c.quiet, c.files)
			}
		}},
		{"stdin dash is a file", []string{"-", "-q"}, nil, func(t *testing.T, c *config) {
			if !c.quiet || !slices.Equal(c.files, []string{"-"}) {
				t.Errorf("quiet %v files %q", c.quiet, c.files)
			}
		}},
		{"lists accumulate", []string{"--fail-on", "malformed,half_open", "--fail-on=refused", "x"}, nil, func(t *testing.T, c *config) {
			if !slices.Equal(c.failOn, []string{"malformed", "half_open", "refused"}) {
				t.Errorf("failOn %q", c.failOn)
			}
		}},
		{"filters", []string{"--host", "[2001:db8::1]", "--net", "10.1.2.3/8", "--port", "443", "x"}, nil, func(t *testing.T, c *config) {
			if len(c.hosts) != 1 || c.hosts[0].String() != "2001:db8::1" || c.nets[0].String() != "10.0.0.0/8" || c.ports[0] != 443 {
				t.Errorf("hosts %v nets %v ports %v", c.hosts, c.nets, c.ports)
			}
		}},
		{"since relative, until absolute", []string{"--since", "90s", "--until", "2026-11-24T10:00:00.5Z", "x"}, nil, func(t *testing.T, c *config) {
			if !c.since.relative || c.since.offset != 90*time.Second {
				t.Errorf("since %+v", c.since)
			}
			if c.until.relative || !c.until.abs.Equal(time.Date(2026, 11, 24, 10, 0, 0, 5e8, time.UTC)) {
				t.Errorf("until %+v", c.until)
			}
		}},
		{"NO_COLOR", []string{"x"}, map[string]string{"NO_COLOR": "1"}, func(t *testing.T, c *config) {
			if !c.noColor {
				t.Error("NO_COLOR set but colour on")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseArgs(tt.args, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", nil, "no capture file given"},
		{"merge without partials", []string{"merge", "--format", "json"}, "no partial given"},
		{"unknown flag", []string{"--bogus", "x"}, "unknown flag -bogus"},
		{"unknown format", []string{"--format", "xml", "x"}, `unknown format "xml"`},
		{"unknown fail-on verdict", []string{"--fail-on", "broken", "x"}, `unknown verdict "broken"`},
		{"unknown verdict filter", []string{"--verdict", "ok", "x"}, `unknown verdict "ok"`},
		{"bad host", []string{"--host", "example", "x"}, "not an IP address"},
		{"bad net", []string{"--net", "10.0.0.0", "x"}, "not a CIDR prefix"},
		{"bad port", []string{"--port", "70000", "x"}, "not a port number"},
		{"bad since", []string{"--since", "yesterday", "x"}, "neither a time of day"},
		{"stdin twice", []string{"-", "-"}, "standard input (-) given more than once"},
		{"negative workers", []string{"--workers", "-1", "x"}, "--workers"},
		{"bad community-id seed", []string{"--community-id-seed", "65536", "x"}, "not a Community ID seed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, noEnv)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !contains(ue.msg, tt.want) || ue.hint == "" {
				t.Errorf("msg %q hint %q, want msg containing %q and a hint", ue.msg, ue.hint, tt.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestUsageDefaults keeps -h honest about the tracker's defaults.
func TestUsageDefaults(t *testing.T) {
	if !strings.Contains(usage, "(default "+formatSize(reassembly.DefaultMaxMemory)+";") {
		t.Errorf("usage does not give the default --max-memory %s", formatSize(reassembly.DefaultMaxMemory))
	}
	for _, d := range []time.Duration{reassembly.DefaultIdleTimeout, reassembly.DefaultCloseLinger, reassembly.DefaultReorderWindow} {
		s := d.String()
		s = strings.TrimSuffix(strings.TrimSuffix(s, "0s"), "0m") // 2m0s → 2m, 5s stays
		if !strings.Contains(usage, "(default "+s+")") {
			t.Errorf("usage does not give the default %s", s)
		}
	}
}
