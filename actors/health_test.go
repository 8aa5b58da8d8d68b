package actors

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
)

func (h *harness) logged(msg string) int { return h.logs.FilterMessage(msg).Len() }

func (h *harness) waitLogged(msg string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for h.logged(msg) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %d log lines %q (have %d)", n, msg, h.logged(msg))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rise = 3: after it went down, a real comes back only after three good
// checks in a row; a failure in between starts the count again.
func TestRiseKeepsADownRealOut(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.Settings.Rise = 3
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.script("127.0.0.2", "up", "down", "up", "up", "down", "up", "up")
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	h.waitLogged("real server up", 2)
	if n := h.logged("real server rising"); n != 4 {
		t.Errorf("%d good checks short of rise, want 4 (two, a failure, two more)", n)
	}
	if n := h.logged("real server down"); n != 1 {
		t.Errorf("%d times down, want 1: good checks short of rise are no change", n)
	}
	h.waitFor("back in after the third good check", has(svc+" 127.0.0.2:80", 1))
}

// flapdamping = 2/10s: the third change of state within ten seconds holds
// the real down, whatever its checks say, and it is logged once.
func TestFlapDampingHoldsAFlappingRealOut(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.Settings.FlapCount, v.Settings.FlapWindow = 2, 10*time.Second
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.script("127.0.0.2", "up", "down", "up", "down")
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	h.waitLogged("real server flapping: held down", 1)
	n := h.fake.count("127.0.0.2")
	h.waitChecks("127.0.0.2", n+10)
	if w := h.weights(); w[svc+" 127.0.0.2:80"] != 0 || len(w) != 1 {
		t.Errorf("table %v: the damped real is in though its checks pass", w)
	}
	if n := h.logged("real server flapping: held down"); n != 1 {
		t.Errorf("damping logged %d times, want once", n)
	}
	if n := h.logged("real server up"); n != 2 {
		t.Errorf("%d times up, want 2: none while held", n)
	}
}

// slowstart = 3s: a real back from down enters at weight 1 and reaches
// its weight of 10 in whole-second steps.
func TestSlowStartRampsTheWeight(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 10))
	v.Settings.SlowStart = 3 * time.Second
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.script("127.0.0.2", "up", "down")
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	key := svc + " 127.0.0.2:80"
	// Weight 10 at the first check (no ramp at start-up), then out, then
	// back at 1 and up to 10.
	var seen []int
	deadline := time.Now().Add(15 * time.Second)
	for len(seen) < 3 || seen[len(seen)-1] != 10 {
		if time.Now().After(deadline) {
			t.Fatalf("weights seen %v, want 10, then a ramp from 1 to 10", seen)
		}
		w, ok := h.weights()[key]
		if !ok {
			w = -1
		}
		if len(seen) == 0 || seen[len(seen)-1] != w {
			seen = append(seen, w)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(seen) > 0 && seen[0] == -1 {
		seen = seen[1:] // before the first check
	}
	if len(seen) < 4 || seen[0] != 10 || seen[1] != -1 || seen[2] != 1 {
		t.Fatalf("weights seen %v: want 10 at start-up, out, back at 1", seen)
	}
	ramp := seen[2:]
	for i := 1; i < len(ramp); i++ {
		if ramp[i] <= ramp[i-1] {
			t.Errorf("ramp %v does not grow", ramp)
		}
	}
	if len(ramp) > 5 {
		t.Errorf("ramp %v: more than one step a second over 3s", ramp)
	}
}

// failopen = 50%: when three of four reals fail together the table is held
// as it was and the status says so; the hold ends after its time.
func TestFailOpenHoldsTheTable(t *testing.T) {
	addrs := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	var reals []*conf.Real
	for _, a := range addrs {
		reals = append(reals, mkReal(a, 80, 1))
	}
	v := mkVirtual("10.0.0.1", 80, reals...)
	v.Settings.FailOpen, v.Settings.FailOpenHold = 50, 2*time.Second
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	for _, a := range addrs {
		h.fake.set(a, true)
	}
	h.run(mkConfig("a.cf", v))
	every := all(has(svc+" 127.0.0.2:80", 1), has(svc+" 127.0.0.3:80", 1), has(svc+" 127.0.0.4:80", 1), has(svc+" 127.0.0.5:80", 1))
	h.waitFor("all in", every)
	for _, a := range addrs[:3] {
		h.fake.set(a, false)
	}
	h.waitLogged("fail-open: so many real servers failed together that the fault is taken for the director's own; the table is held", 1)
	// The first failures, below the share, left; the hold puts them back.
	h.waitFor("held: all four in", every)
	deadline := time.Now().Add(10 * time.Second)
	for {
		reports, err := h.d.Status()
		if err != nil {
			t.Fatal(err)
		}
		if held, ok := reports[0].FailOpen[v.ID]; ok {
			if held.Failed != 3 {
				t.Errorf("status: %d failed, want 3", held.Failed)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status never named the hold: %+v", reports[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.waitFor("the hold over, the failed reals out", all(lacks(svc+" 127.0.0.2:80"), lacks(svc+" 127.0.0.3:80"), lacks(svc+" 127.0.0.4:80"), has(svc+" 127.0.0.5:80", 1)))
	if n := h.logged("fail-open over: the table follows the checks again"); n != 1 {
		t.Errorf("end of the hold logged %d times, want once", n)
	}
}

// A Perl configuration (no failopen) takes the same failures out at once.
func TestWithoutFailOpenFailuresLeave(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1))
	h := start(t, mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.waitFor("both in", all(has(svc+" 127.0.0.2:80", 1), has(svc+" 127.0.0.3:80", 1)))
	h.fake.set("127.0.0.2", false)
	h.fake.set("127.0.0.3", false)
	h.waitFor("both out", all(lacks(svc+" 127.0.0.2:80"), lacks(svc+" 127.0.0.3:80")))
}

// sharedchecks = yes: two virtuals that check one real the same way run
// about one check per interval between them, not one each.
func TestSharedChecksRunOnce(t *testing.T) {
	for _, shared := range []bool{false, true} {
		a := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
		b := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.2", 80, 1))
		cfg := mkConfig("a.cf", a, b)
		cfg.Global.SharedChecks = shared
		h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
		h.fake.set("127.0.0.2", true)
		h.run(cfg)
		h.waitFor("in both", all(has(svc+" 127.0.0.2:80", 1), has(svc2+" 127.0.0.2:80", 1)))
		h.waitLogged("checked", 60)
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		verdicts, runs := h.logged("checked"), h.fake.count("127.0.0.2")
		switch {
		case !shared && runs < verdicts:
			t.Errorf("without sharedchecks: %d checks run for %d verdicts, want one each", runs, verdicts)
		case shared && runs*10 > verdicts*6:
			t.Errorf("with sharedchecks: %d checks run for %d verdicts, want about half", runs, verdicts)
		}
		t.Logf("sharedchecks %v: %d checks run for %d verdicts", shared, runs, verdicts)
	}
}

// BenchmarkSharedChecks measures what sharedchecks saves where it helps
// most: every real behind two virtuals (a port 80 and a port 443 service,
// say) checked the same way. It reports the checks run per verdict, with
// sharing off (1) and on (about 0.5), over a few checkintervals of 100
// reals.
func BenchmarkSharedChecks(b *testing.B) {
	for _, shared := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[shared], func(b *testing.B) {
			var ra, rb []*conf.Real
			for i := range 100 {
				addr := "127.0.1." + strconv.Itoa(i+1)
				ra, rb = append(ra, mkReal(addr, 80, 1)), append(rb, mkReal(addr, 80, 1))
			}
			cfg := mkConfig("a.cf", mkVirtual("10.0.0.1", 80, ra...), mkVirtual("10.0.0.2", 80, rb...))
			cfg.Global.SharedChecks = shared
			var verdicts, runs int
			for range b.N {
				h := &harness{t: b, table: newMemory(), fake: newFakeChecks()}
				for _, r := range ra {
					h.fake.set(r.Addr.String(), true)
				}
				h.run(cfg)
				h.waitLogged("checked", 2000)
				if err := h.stop(); err != nil {
					b.Fatal(err)
				}
				verdicts += h.logged("checked")
				for _, r := range ra {
					runs += h.fake.count(r.Addr.String())
				}
			}
			b.ReportMetric(float64(runs)/float64(verdicts), "checks/verdict")
		})
	}
}

// BenchmarkProberCheck measures what one check costs the daemon beside the
// check itself (an instant fake): the prober's timer, the check's
// goroutine and context, the result's way to the virtual and its
// bookkeeping, as allocations and bytes per check, with ten reals checked
// every millisecond. A regression of the hot path shows here without the
// VM.
func BenchmarkProberCheck(b *testing.B) {
	var reals []*conf.Real
	for i := range 10 {
		reals = append(reals, mkReal("127.0.2."+strconv.Itoa(i+1), 80, 1))
	}
	v := mkVirtual("10.0.0.1", 80, reals...)
	v.Settings.CheckInterval = time.Millisecond
	// A check that only counts: the fake's bookkeeping would be measured
	// otherwise.
	var checked atomic.Int64
	up := func(context.Context, checks.Target) checks.Result {
		checked.Add(1)
		return checks.Result{Up: true, Reason: "ok"}
	}
	h := &harness{t: b, table: newMemory(), fake: newFakeChecks(), infoLog: true, check: up}
	h.run(mkConfig("a.cf", v))
	perCheck(b, func() int { return int(checked.Load()) })
}

// perCheck times b.N checks, total counting those made so far, and
// reports the allocations and bytes per check over them.
func perCheck(b *testing.B, total func() int) {
	for total() < 100 { // past the start
		time.Sleep(time.Millisecond)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := total()
	b.ResetTimer()
	for total()-start < b.N {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(total() - start)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/check")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/check")
}
