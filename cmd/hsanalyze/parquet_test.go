package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestParquetRefusedOnTerminal checks that --format parquet does not write
// binary to a terminal and says to use -o, while /dev/null (a character
// device too) takes it.
func TestParquetRefusedOnTerminal(t *testing.T) {
	tty := openTerminal(t)
	var stderr bytes.Buffer
	code := run([]string{"--format", "parquet", pcap("mix-200.pcap")}, nil, tty, &stderr, noEnv)
	if code != exitError || !strings.Contains(stderr.String(), "-o flows.parquet") {
		t.Errorf("exit %d, stderr %q; want 2 with a hint to use -o", code, stderr.String())
	}
	out := filepath.Join(t.TempDir(), "f.parquet")
	if code := run([]string{"--format", "parquet", "-o", out, pcap("mix-200.pcap")}, nil, tty, &stderr, noEnv); code != exitOK {
		t.Errorf("with -o: exit %d, stderr %q", code, stderr.String())
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	stderr.Reset()
	if code := run([]string{"--format", "parquet", pcap("mix-200.pcap")}, nil, null, &stderr, noEnv); code != exitOK {
		t.Errorf("to %s: exit %d, stderr %q", os.DevNull, code, stderr.String())
	}
}

// duckDB returns the node binary and the NODE_PATH under which
// @duckdb/node-api is installed (.ci/run installs it; elsewhere set
// HSANALYZE_NODE_PATH), or skips (fails in CI).
func duckDB(t *testing.T) (node, nodePath string) {
	t.Helper()
	nodePath = os.Getenv("HSANALYZE_NODE_PATH")
	if nodePath == "" {
		nodePath = filepath.Join(os.TempDir(), "hsanalyze-ci-node", "node_modules")
	}
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(nodePath, "@duckdb", "node-api"))
	}
	if err != nil {
		msg := "DuckDB for Node (npm @duckdb/node-api) is not installed under " + nodePath + ": " + err.Error() +
			" (npm install --prefix " + filepath.Dir(nodePath) + " @duckdb/node-api, or set HSANALYZE_NODE_PATH)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node, nodePath
}

// TestParquetDuckDB queries a --format parquet report with DuckDB: the
// verdict counts, the evidence and the timestamps agree with the JSON
// report of the same capture.
func TestParquetDuckDB(t *testing.T) {
	node, nodePath := duckDB(t)
	out := filepath.Join(t.TempDir(), "mix.parquet")
	if r := runCLI(t, nil, nil, "--format", "parquet", "-o", out, pcap("mix-200.pcap")); r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rep := decodeJSON(t, runCLI(t, nil, nil, "--format", "json", pcap("mix-200.pcap")).stdout)

	query := `SELECT verdict, count(*) AS n, sum(len(evidence)) AS evidence,
		strftime(min(first_ts), '%Y-%m-%dT%H:%M:%S.%fZ') AS first,
		count(client_isn) AS isns, typeof(min(first_ts)) AS ts_type
		FROM read_parquet('` + out + `') GROUP BY verdict ORDER BY verdict`
	cmd := exec.Command(node, "testdata/duckdb-query.cjs", query)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, b)
	}
	var rows []map[string]string
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, b)
	}
	want := map[string][3]int{} // verdict -> flows, evidence items, ISNs
	firsts := map[string]string{}
	for _, f := range rep.Flows {
		w := want[f.Verdict]
		w[0]++
		w[1] += len(f.Evidence)
		if f.ClientISN != nil {
			w[2]++
		}
		want[f.Verdict] = w
		if firsts[f.Verdict] == "" || f.FirstTS < firsts[f.Verdict] {
			firsts[f.Verdict] = f.FirstTS
		}
	}
	if len(rows) != len(want) {
		t.Fatalf("duckdb: %d verdicts, JSON %d: %s", len(rows), len(want), b)
	}
	for _, r := range rows {
		v := r["verdict"]
		w := want[v]
		got := [3]int{atoi(r["n"]), atoi(r["evidence"]), atoi(r["isns"])}
		if got != w {
			t.Errorf("%s: duckdb flows/evidence/ISNs %v, JSON %v", v, got, w)
		}
		if !strings.HasPrefix(r["ts_type"], "TIMESTAMP") {
			t.Errorf("first_ts is %s in DuckDB, want a TIMESTAMP", r["ts_type"])
		}
		// DuckDB keeps microseconds; the JSON has nanoseconds.
		if first := firsts[v]; !strings.HasPrefix(first, strings.TrimSuffix(r["first"], "Z")) {
			t.Errorf("%s: first first_ts %s in DuckDB, %s in JSON", v, r["first"], first)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
