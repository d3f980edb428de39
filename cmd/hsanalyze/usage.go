package main

// usage is printed by -h. Keep it in step with the package documentation.
const usage = `hsanalyze tells, for every TCP connection attempt in packet captures,
whether the three-way handshake completed, stayed half-open, was refused
or broke the protocol, and why.

Usage:
  hsanalyze [flags] FILE...      pcap or pcapng, plain, gzip, zstd, xz or
                                 bzip2; - is stdin
  hsanalyze --partial OUT [analysis flags] FILE...
                                 write a partial result for merge
  hsanalyze merge [flags] PARTIAL...
                                 report from partials what one run over all
                                 their captures reports (docs/partial.md)

Output:
  --format F            report format: table (default), json, ndjson, csv,
                        zeek (Zeek conn.log TSV), zeek-json, junit, html
                        (one self-contained page: use -o or redirect),
                        parquet (Apache Parquet: use -o or redirect)
  -o, --output FILE     write the report to FILE (replaced only once the
                        report is complete; a device or pipe such as
                        /dev/null is written in place); - is standard output
  --all                 table: list complete flows too (default: only flows
                        that need attention)
  --flow C-S            timeline of one connection, e.g.
                        10.0.0.1:51234-10.0.0.2:443 or [2001:db8::1]:5000-[2001:db8::2]:80
  --width N             fit the table and timeline to N columns (default:
                        the terminal's width, then $COLUMNS; pipes and
                        files: no limit; 0: no limit); 100 or fewer get
                        the compact layout
  --group-by server|client|port
                        table: one row per server, client or server port:
                        attempts per verdict, SYN→SYN-ACK p50 and p95
  --per-file            each FILE is a capture of its own (its own frames,
                        clock and summary), reported one after another;
                        --fail-on judges all (table, json, ndjson, csv)
  --flush               ndjson, csv: write each record as its flow is
                        decided (at most 100 ms late), also to a file
                        (default: when standard output is a pipe or terminal)
  -q, --quiet           summary only (json, ndjson, csv: the summary object)
  --no-color            no colour (also when NO_COLOR is set or stdout is
                        not a terminal)
  --community-id-seed N community_id seed (Community ID v1; default 0)
  --progress auto|always|never
                        progress on stderr (auto: when stderr is a terminal)

Selecting flows:
  --verdict LIST        only these verdicts (comma-separated)
  --host LIST           only flows with one of these endpoint addresses
  --net LIST            only flows with an endpoint in one of these networks
  --port LIST           only flows with one of these ports on either side
                        (lists are comma-separated: --port 80,443)
  --since T, --until T  only flows starting in this window; T is a time of
                        day as the table prints it (10:00:00.1, on the
                        capture's first day, UTC unless +02:00 is given),
                        RFC 3339, or an offset from the capture start
                        (150ms, 90s, 5m); an empty window is an error

CI:
  --fail-on LIST        exit 1, with one line on stderr saying what matched,
                        when selected flows (with --flow: the attempts of
                        that connection) have these verdicts (complete,
                        half_open, refused, malformed, midstream): VERDICT
                        for any, VERDICT>N for more than N, VERDICT>P% for
                        more than P% of the flows, e.g. malformed,half_open>2%
  --github              GitHub Actions annotations on stderr for the
                        --fail-on matches, and a job summary appended to
                        $GITHUB_STEP_SUMMARY (also when GITHUB_ACTIONS=true)

Analysis:
  --checksum            verify TCP checksums (off: offloading makes them
                        wrong in most host captures); never changes a verdict
  --idle-timeout D      an attempt idle this long (capture clock) is final
                        (default 2m)
  --close-linger D      a closed connection is kept this long for late
                        retransmissions (default 5s)
  --reorder-window D    a SYN-ACK captured up to D before its SYN is put back
                        in order (default 1ms)
  --dedup-window D      a frame equal byte for byte to one captured less than
                        D before is a duplicate (SPAN port): dropped, counted
                        (default 1ms; 0: keep every frame)
  --workers N           goroutines for the analysis, same output for any N: 1
                        does all in one; 2 tracks beside reading and
                        formatting; 3 also reads apart (default: the CPUs)
  --jobs N              files that follow one another in time (rotated) are
                        analysed N at a time, then merged: the same output
                        (default 1)
  --max-memory SIZE     bound the attempt table (default 144MiB; 0: none); past
                        it the least recently active attempts are decided
                        early (anomaly decided_early), never dropped

Other:
  -h, --help            this help
  --version             print the version

Exit status: 0 success; 1 --fail-on matched; 2 usage error or unreadable input;
130 or 143 after SIGINT or SIGTERM: hsanalyze reads what is still delivered
for up to 2 s, judges the attempts still open (their reason says
"unfinished"), prints the report and exits; a second signal quits at once.

Examples:
  hsanalyze capture.pcap
  hsanalyze --all --port 443 capture.pcapng.gz
  hsanalyze --format json --fail-on malformed,half_open recorded/*.pcap
  tcpdump -i any -w - port 443 | hsanalyze -
  hsanalyze --flow 192.0.2.1:40000-198.51.100.2:80 capture.pcap
`
