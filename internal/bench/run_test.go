package bench

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestSmoke runs the harness briefly on ten reals, for every peer, and
// checks that each figure was produced and is plausible: it keeps the
// harness from rotting between benchmark runs.
func TestSmoke(t *testing.T) {
	if err := RequirePerl(); err != nil {
		t.Fatal(err)
	}
	progs, err := Build(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	const n, spare = 10, 2
	farm, err := NewFarm(n + spare)
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	opts := Options{
		N: n, CheckType: "negotiate", Interval: time.Second, Timeout: 3 * time.Second, PerVirtual: 5,
		Settle: time.Second, Window: 3 * time.Second, StartCap: 60 * time.Second, DetectCap: 20 * time.Second,
		Ks: []int{1}, Failures: []State{Refused}, ReloadChange: spare,
		Logf: func(f string, a ...any) { t.Logf(time.Now().Format("15:04:05.000 ")+f, a...) },
	}
	dir := t.TempDir()
	// Cold and warm starts each by ours and by a Perl peer.
	runs := []struct {
		peer Peer
		warm bool
	}{{Floor, false}, {Ours, false}, {Perl, false}, {PerlFork, true}, {Ours, true}}
	cpuSeen := false
	for i, r := range runs {
		peer := r.peer
		opts.Warm = r.warm
		res, err := Run(peer, progs, farm, filepath.Join(dir, fmt.Sprint(i)), opts)
		if err != nil {
			t.Fatalf("%s: %v", peer, err)
		}
		js, _ := json.Marshal(res)
		t.Logf("%s: %s", peer, js)
		plausible(t, res, opts)
		cpuSeen = cpuSeen || res.CPU > 0
	}
	if !cpuSeen {
		t.Error("no peer used any CPU over its window: the harness does not measure it")
	}
}

func plausible(t *testing.T, res Result, opts Options) {
	t.Helper()
	p := res.Peer
	if res.Checks < opts.N || res.CheckRate < 0.3 || res.CheckRate > 1.5 {
		t.Errorf("%s: %d checks in %v (rate %.2f of the schedule), want about %d", p, res.Checks, res.Window, res.CheckRate, opts.N*int(res.Window/opts.Interval))
	}
	// The kernel counts CPU in ticks of 10 ms: 30 checks of ours over a
	// window of a few seconds may cost less than one. That no peer used
	// any is the harness's fault (TestSmoke).
	if res.CPU < 0 || res.CPUPer1000 < 0 || res.CPUPer1000 > 100 {
		t.Errorf("%s: CPU %v, %.3f s per 1000 checks: implausible", p, res.CPU, res.CPUPer1000)
	}
	if res.PeakRSS < 1<<20 || res.PeakRSS > 4<<30 {
		t.Errorf("%s: peak RSS %d bytes: implausible", p, res.PeakRSS)
	}
	if res.Lateness.N == 0 || res.Lateness.Max > 10*time.Second {
		t.Errorf("%s: lateness %+v: implausible", p, res.Lateness)
	}
	if p == Floor {
		return
	}
	if !res.StartComplete || res.StartUp <= 0 || res.StartUp > opts.StartCap {
		t.Errorf("%s: start-up %v, complete %v", p, res.StartUp, res.StartComplete)
	}
	if len(res.Detection) != len(opts.Ks)*len(opts.Failures) {
		t.Fatalf("%s: %d detection scenarios, want %d; notes: %q", p, len(res.Detection), len(opts.Ks)*len(opts.Failures), res.Notes)
	}
	for _, d := range res.Detection {
		if d.Missed != 0 || d.Latency.N != d.K || len(d.Latencies) != d.K || d.Latency.P50 <= 0 || d.Latency.Max > d.Cap {
			t.Errorf("%s: detection %+v: every failed real should leave the table within the cap", p, d)
		}
	}
	r := res.Reload
	if r == nil || !r.Converged || r.TableChanges < r.ExpectedChanges || r.Time <= 0 {
		t.Errorf("%s: reload %+v: want convergence with at least %d table writes; notes: %q", p, r, opts.ReloadChange, res.Notes)
	}
}
