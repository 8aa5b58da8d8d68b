// Command vmbench runs the in-VM peer benchmark (package vmbench): our
// ldirectord, keepalived and the Perl ldirectord on the real kernel's
// IPVS, side by side. It prints the table and writes the raw figures as
// JSON:
//
//	go run ./internal/vmbench/cmd/vmbench -out .cache/vmbench-results.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ldirectord-go/ldirectord/internal/vmbench"
)

func main() {
	p := vmbench.DefaultParams()
	sizes := flag.String("n", "10,100,1000", "comma-separated numbers of real servers")
	perlMax := flag.Int("perl-max-n", p.MaxN[vmbench.Perl], "largest number of reals the Perl ldirectord is measured at")
	peers := flag.String("peers", strings.Join(p.Peers, ","), "comma-separated peers: ours, keepalived, perl; a peer may carry environment variables for its run, ours+GOMAXPROCS=2+GOGC=50")
	out := flag.String("out", ".cache/vmbench-results.json", "where the JSON report goes")
	flag.DurationVar(&p.Steady, "steady", p.Steady, "steady-state CPU window")
	flag.DurationVar(&p.StartLimit, "start-limit", p.StartLimit, "longest wait for a complete table")
	flag.DurationVar(&p.DetectLimit, "detect-limit", p.DetectLimit, "longest wait for the failed reals to leave the table")
	flag.IntVar(&p.CPUs, "cpus", 1, "virtual CPUs of the VM")
	flag.IntVar(&p.MinSamples, "min-samples", p.MinSamples, "detection latencies wanted per kind of failure: rounds repeat with other victims until there are as many")
	profile := flag.String("profile", "", "directory for ours's CPU, heap and allocs profiles (ours-N.cpu.pprof, …) and the binary profiled; none when empty")
	flag.BoolVar(&p.Strace, "strace", false, "count each peer's syscalls with "+vmbench.StraceBinary+" over a second steady window, after detection; summaries go to the -profile directory, or beside -out, as PEER-N.strace.txt")
	flag.IntVar(&p.KillPercent, "kill", p.KillPercent, "percentage of reals that fail at once (at least one)")
	flag.Parse()
	p.Sizes = nil
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "vmbench: -n: %q is not a positive number\n", s)
			os.Exit(2)
		}
		p.Sizes = append(p.Sizes, n)
	}
	p.Peers = strings.Split(*peers, ",")
	p.MaxN[vmbench.Perl] = *perlMax
	p.Profile, p.ProfileDir = *profile != "", *profile
	rep, err := vmbench.Run(context.Background(), p, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("guest kernel %s, VM run %.0fs\n", rep.Kernel, rep.VMSec)
	rep.WriteTable(os.Stdout)
	if p.Profile {
		paths, err := rep.WriteProfiles(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for i := range rep.Results {
			f := &rep.Results[i]
			if f.ProfileError != "" {
				fmt.Fprintf(os.Stderr, "vmbench: %s at N=%d: %s\n", f.Peer, f.N, f.ProfileError)
			}
			// The files hold them; base64 in the JSON would only bury the figures.
			f.CPUProfile, f.HeapProfile, f.AllocsProfile = nil, nil, nil
		}
		fmt.Fprintf(os.Stderr, "vmbench: profiles %s, binary %s\n", strings.Join(paths, " "), filepath.Join(*profile, "ldirectord"))
	}
	if p.Strace {
		dir := *profile
		if dir == "" {
			dir = filepath.Dir(*out)
		}
		if err := writeStrace(rep, dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
			err = os.WriteFile(*out, js, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmbench: writing the report:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "vmbench: raw figures in", *out)
}

// writeStrace writes the strace summaries into dir and prints each peer's
// syscalls per check made, in all and by syscall.
func writeStrace(rep *vmbench.Report, dir string) error {
	paths, err := rep.WriteStrace(dir)
	if err != nil {
		return err
	}
	for _, f := range rep.Results {
		if f.StraceError != "" {
			fmt.Fprintf(os.Stderr, "vmbench: %s at N=%d: strace: %s\n", f.Peer, f.N, f.StraceError)
			continue
		}
		if f.StraceSummary == "" {
			continue
		}
		_, total, err := f.StraceCalls()
		if err != nil {
			return err
		}
		per := "no checks made"
		if f.StraceChecksMade > 0 {
			per = fmt.Sprintf("%.1f per check made", float64(total)/float64(f.StraceChecksMade))
		}
		fmt.Printf("%s at N=%d: %d syscalls over %.1fs under strace, %d checks made: %s\n", f.Peer, f.N, total, f.StraceSec, f.StraceChecksMade, per)
	}
	if err := rep.WriteStraceTable(os.Stdout); err != nil {
		return err
	}
	if len(paths) > 0 {
		fmt.Fprintf(os.Stderr, "vmbench: strace summaries %s\n", strings.Join(paths, " "))
	}
	return nil
}
