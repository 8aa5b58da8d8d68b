package vmbench

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole harness at five reals, so that it cannot rot:
// the VM on the host's /, the real servers, every peer started, checked,
// measured and stopped. It asserts that figures came back, not what they
// are.
func TestSmoke(t *testing.T) {
	p := DefaultParams()
	p.Sizes = []int{5}
	p.Steady = 2 * time.Second
	p.StartLimit = 60 * time.Second
	// Two samples per kind: a second round, the first reals restored.
	p.MinSamples = 2
	var progress strings.Builder
	rep, err := Run(context.Background(), p, &progress)
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Logf("VM run %.1fs, kernel %s\n%s", rep.VMSec, rep.Kernel, table.String())
	if !strings.HasSuffix(rep.Kernel, "-amd64") {
		t.Errorf("guest kernel = %q, want Debian's -amd64", rep.Kernel)
	}
	for _, peer := range p.Peers {
		f, ok := rep.Find(peer, 5)
		if !ok {
			t.Errorf("no figures for %s", peer)
			continue
		}
		if f.Error != "" || !f.Complete {
			t.Errorf("%s: complete %v; error: %s", peer, f.Complete, f.Error)
		}
		// A refused real is seen at its next check; a black-holed one a
		// timeout later. Bounds are generous: the host is shared.
		for _, c := range []struct {
			what string
			d    Detection
		}{{"refused", f.Refused}, {"black-holed", f.BlackHole}} {
			if c.d.Rounds != 2 || c.d.Failed != 2 || c.d.Detected != 2 || c.d.LatencyMs[0] <= 0 || c.d.MaxMs > p.DetectLimit.Seconds()*1000 {
				t.Errorf("%s: %s reals: %d of %d out in %d rounds, after %v ms; want 2 of 2 in 2 rounds, within (0, %s]", peer, c.what, c.d.Detected, c.d.Failed, c.d.Rounds, c.d.LatencyMs, p.DetectLimit)
			}
		}
		// Perl checks one real after the other, slowly under TCG: its
		// 2 s window may hold none.
		if peer != Perl && f.ChecksMade <= 0 {
			t.Errorf("%s: %d checks made over the steady window; want some", peer, f.ChecksMade)
		}
		if f.TotalCPUSec <= 0 || f.PeakRSSMB <= 0 {
			t.Errorf("%s: total CPU %.2fs, peak RSS %.1f MB; want both above zero", peer, f.TotalCPUSec, f.PeakRSSMB)
		}
	}
}

func TestVictimsSpread(t *testing.T) {
	for _, c := range []struct {
		n, k    int
		shifted bool
		round   int
		want    []int
	}{
		{1000, 4, false, 0, []int{0, 250, 500, 750}},
		{1000, 4, true, 0, []int{125, 375, 625, 875}},
		{1000, 4, true, 1, []int{126, 376, 626, 876}},
		{5, 1, false, 0, []int{0}},
		{5, 1, true, 0, []int{2}},
		{5, 1, true, 3, []int{0}},
		{10, 1, true, 0, []int{5}},
		{10, 1, false, 9, []int{9}},
	} {
		if got := victims(c.n, c.k, c.shifted, c.round); !slices.Equal(got, c.want) {
			t.Errorf("victims(%d, %d, %v, %d) = %v, want %v", c.n, c.k, c.shifted, c.round, got, c.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for pct, want := range map[float64]float64{50: 5, 99: 10, 100: 10, 10: 1} {
		if got := percentile(s, pct); got != want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", pct, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Errorf("percentile of nothing is not 0")
	}
}

func TestConfigsNameEveryReal(t *testing.T) {
	p := DefaultParams()
	ld, ka := ldirectordConfig(p, 250, "/dev/null"), keepalivedConfig(p, 250)
	for _, i := range []int{0, 99, 100, 249} {
		r := realAddr(i)
		if !strings.Contains(ld, "real = "+r.String()+" masq 1\n") {
			t.Errorf("ldirectord configuration lacks real %s", r)
		}
		if !strings.Contains(ka, "real_server "+r.Addr().String()+" 80 {") {
			t.Errorf("keepalived configuration lacks real %s", r)
		}
	}
	if got := strings.Count(ld, "\nvirtual = "); got != 3 {
		t.Errorf("ldirectord configuration has %d virtual services, want 3", got)
	}
	if got := strings.Count(ka, "\nvirtual_server "); got != 3 {
		t.Errorf("keepalived configuration has %d virtual services, want 3", got)
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Fatalf("keepalived is missing: install Debian package keepalived")
	}
}

func TestStraceCalls(t *testing.T) {
	f := Figures{Peer: Keepalived, N: 100, StraceChecksMade: 10, StraceSummary: `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
  5.07    0.066633          30        40           epoll_ctl
 16.39    0.215552         398        10        10 connect
  1.36    0.017822          73         5           epoll_wait
  0.33    0.004300         252         2           brk
------ ----------- ----------- --------- --------- ----------------
100.00    0.304307         532        57        10 total
`}
	calls, total, err := f.StraceCalls()
	if err != nil {
		t.Fatal(err)
	}
	if total != 57 || calls["connect"] != 10 || calls["epoll_ctl"] != 40 || len(calls) != 4 {
		t.Errorf("StraceCalls = %v, total %d; want connect 10, epoll_ctl 40 of 4 syscalls, total 57", calls, total)
	}
	var table strings.Builder
	rep := Report{Results: []Figures{f}}
	if err := rep.WriteStraceTable(&table); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(table.String(), "\n") {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	for _, want := range []string{"epoll_* 4.50", "connect 1.00", "total 5.70", "others, keepalived N=100: brk 0.20"} {
		if !slices.Contains(rows, want) {
			t.Errorf("the table lacks the row %q:\n%s", want, table.String())
		}
	}
}

func TestSplitPeer(t *testing.T) {
	for _, c := range []struct {
		peer, base string
		env        []string
	}{
		{"ours", "ours", nil},
		{"ours+GOMAXPROCS=2", "ours", []string{"GOMAXPROCS=2"}},
		{"ours+GOMAXPROCS=2+GOGC=50", "ours", []string{"GOMAXPROCS=2", "GOGC=50"}},
	} {
		base, env := splitPeer(c.peer)
		if base != c.base || !slices.Equal(env, c.env) {
			t.Errorf("splitPeer(%q) = %q, %q; want %q, %q", c.peer, base, env, c.base, c.env)
		}
	}
}
