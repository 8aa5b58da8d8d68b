// Command ldbench measures our ldirectord beside Debian's Perl ldirectord
// (fork = no and fork = yes) and beside the floor program, on one farm of
// loopback real servers: start-up, steady-state cost, check lateness,
// detection of refused and black-holed reals, and reload. It prints one
// Markdown table of figures and ratios and writes the raw figures as JSON.
// `make bench` runs it; BENCHMARKS.md explains the method.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		nsFlag     = flag.String("n", "100,1000,10000", "numbers of real servers, comma-separated")
		peersFlag  = flag.String("peers", "floor,ours,perl,perl-fork", "peers to measure, in this order, comma-separated")
		ours       = flag.String("ours", "build", `our ldirectord: "build" compiles cmd/ldirectord, a path uses that binary, "none" leaves ours out`)
		checktype  = flag.String("checktype", "negotiate", "negotiate (http) or connect")
		largeCheck = flag.String("large-checktype", "connect", "checktype above -cold-max-n: 10,000 HTTP checks a second and their answers are more than a shared 2-core machine serves")
		perVirtual = flag.Int("per-virtual", 100, "real servers per virtual service")
		window     = flag.Duration("window", 10*time.Second, "steady-state measurement window")
		settle     = flag.Duration("settle", 3*time.Second, "wait between a complete table and the window")
		startCap   = flag.Duration("start-cap", 120*time.Second, "longest wait for a complete table (start-up, after a failure, after a reload)")
		detectCap  = flag.Duration("detect-cap", 20*time.Second, "longest wait for failed reals to leave the table, past checkinterval + checktimeout")
		reload     = flag.Bool("reload", true, "run the reload scenario (1 % of reals changed, at least 2) at every N")
		keep       = flag.Bool("keep", false, "keep the work directory (each peer's log, configuration and table) for inspection")
		out        = flag.String("out", ".cache/bench-results.json", "where to write the raw figures")
		perlMaxN   = flag.Int("perl-max-n", 10000, "largest N at which the Perl peers run")
		coldMaxN   = flag.Int("cold-max-n", 1000, "largest N started on an empty table; above it peers start on a table already complete (the file stand-in rewrites the whole table for each change)")
	)
	flag.Parse()
	ns, err := parseInts(*nsFlag)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ldbench: -n: %v\n", err)
		return 2
	}
	var peers []bench.Peer
	for _, p := range strings.Split(*peersFlag, ",") {
		switch peer := bench.Peer(strings.TrimSpace(p)); peer {
		case bench.Ours, bench.Perl, bench.PerlFork, bench.Floor:
			if peer == bench.Ours && *ours == "none" {
				continue
			}
			peers = append(peers, peer)
		default:
			fmt.Fprintf(os.Stderr, "ldbench: -peers: unknown peer %q (want ours, perl, perl-fork, floor)\n", p)
			return 2
		}
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}

	work, err := os.MkdirTemp("", "ldbench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "ldbench: %v\n", err)
		return 1
	}
	if *keep {
		logf("keeping the work directory %s (logs, configurations, tables)", work)
	} else {
		defer os.RemoveAll(work)
	}
	progs, err := bench.Build(filepath.Join(work, "bin"), *ours == "build")
	if err != nil {
		fmt.Fprintf(os.Stderr, "ldbench: %v\n", err)
		return 1
	}
	if *ours != "build" && *ours != "none" {
		progs.Ours = *ours
	}

	// A run cut short by a signal ends the peer it runs.
	live := &groups{m: map[int]bool{}}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		live.kill()
		if !*keep {
			os.RemoveAll(work)
		}
		fmt.Fprintf(os.Stderr, "ldbench: %v; the raw figures so far are in %s\n", sig, *out)
		os.Exit(1)
	}()

	start := time.Now()
	rep := &bench.Report{Machine: bench.ThisMachine()}
	rep.Options = bench.Options{CheckType: *checktype, Interval: time.Second, Timeout: 3 * time.Second,
		PerVirtual: *perVirtual, Settle: *settle, Window: *window, StartCap: *startCap, DetectCap: *detectCap,
		Failures: []bench.State{bench.Refused, bench.BlackHole}}
	for _, n := range ns {
		o := rep.Options
		o.N, o.Logf = n, logf
		o.Ks = []int{1}
		if k := n / 10; k > 1 {
			o.Ks = append(o.Ks, k)
		}
		o.Warm = n > *coldMaxN
		if o.Warm {
			o.CheckType = *largeCheck
		}
		if *reload {
			o.ReloadChange = max(2, n/100)
		}
		o.Started, o.Stopped = live.add, live.remove
		farm, err := bench.NewFarm(n + o.ReloadChange)
		if err != nil {
			logf("N=%d: %v", n, err)
			rep.Problems = append(rep.Problems, fmt.Sprintf("N=%d: not run: %v", n, err))
			continue
		}
		for _, peer := range peers {
			if (peer == bench.Perl || peer == bench.PerlFork) && n > *perlMaxN {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s at N=%d: not run (-perl-max-n %d)", peer, n, *perlMaxN))
				continue
			}
			res, err := bench.Run(peer, progs, farm, filepath.Join(work, fmt.Sprintf("%s-%d", peer, n)), o)
			if err != nil {
				logf("%s N=%d: %v", peer, n, err)
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s at N=%d: %v", peer, n, err))
			}
			if res.Peer != "" {
				rep.Results = append(rep.Results, res)
			}
			for _, note := range res.Notes {
				logf("%s N=%d: %s", peer, n, note)
			}
			// What is measured so far survives a run cut short.
			if err := write(*out, rep); err != nil {
				logf("%v", err)
			}
		}
		farm.Close()
	}
	rep.Machine.Elapsed = time.Since(start).Seconds()

	if err := write(*out, rep); err != nil {
		fmt.Fprintf(os.Stderr, "ldbench: %v\n", err)
		return 1
	}
	m := rep.Machine
	fmt.Printf("ldbench %s on %s (%d cores, %d MB, Linux %s, load %s), %.0f s; checkinterval 1 s, checktimeout 3 s, checktype %s up to N=%d, %s above\n\n",
		m.Date, m.CPU, m.Cores, m.MemMB, m.Kernel, m.Load, m.Elapsed, *checktype, *coldMaxN, *largeCheck)
	fmt.Print(rep.Table(ns, peers))
	for _, p := range rep.Problems {
		fmt.Printf("\nproblem: %s", p)
	}
	fmt.Printf("\nraw figures: %s\n", *out)
	return 0
}

// groups are the process groups of the peers running now.
type groups struct {
	mu sync.Mutex
	m  map[int]bool
}

func (g *groups) add(pgid int)    { g.mu.Lock(); g.m[pgid] = true; g.mu.Unlock() }
func (g *groups) remove(pgid int) { g.mu.Lock(); delete(g.m, pgid); g.mu.Unlock() }

func (g *groups) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for pgid := range g.m {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive numbers", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func write(path string, rep *bench.Report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}
