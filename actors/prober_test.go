package actors

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

// A real removed by a reload while its prober takes a check's result: the
// stop is queued on the goroutine that runs the prober's mailbox, the
// check's own, and the prober must still stop (it once waited there for
// that very check to end).
func TestProberStopsWhileTakingAResult(t *testing.T) {
	keep, gone := mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1)
	v := mkVirtual("10.0.0.1", 80, keep, gone)
	v.Settings.CheckInterval = 10 * time.Millisecond
	slow := func() { time.Sleep(50 * time.Millisecond) }
	checkDoneHook.Store(&slow)
	t.Cleanup(func() { checkDoneHook.Store(nil) })
	h := start(t, mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.waitChecks("127.0.0.3", 2)
	v2 := *v
	v2.Reals = []*conf.Real{keep}
	if err := h.d.ReloadConfig(mkConfig("a.cf", &v2)); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop: a prober is stuck halting on its own check's goroutine")
	}
}

// TestProbersInTheLoop: with Options.Loop, connect checks of real
// listeners run in the check loop and the table follows them: a real
// whose listener closes leaves, and comes back when it listens again; a
// stop ends the checks in flight.
func TestProbersInTheLoop(t *testing.T) {
	loop, err := checks.NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(loop.Close)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	go acceptAndClose(ln, nil)
	r := mkReal("127.0.0.1", port, 1)
	v := mkVirtual("10.0.0.1", 80, r)
	v.Settings.CheckTimeout = 300 * time.Millisecond
	var inLoop atomic.Int64
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks(), opts: Options{Loop: loop},
		check: func(ctx context.Context, tg checks.Target) checks.Result {
			inLoop.Add(-1000000) // the loop runs connect checks: none come here
			return checks.Run(ctx, tg)
		}}
	h.run(mkConfig("a.cf", v))
	key := "ipv4/tcp/10.0.0.1:80 127.0.0.1:" + strconv.Itoa(int(port))
	h.waitFor("the real in", func(w map[string]int) bool { return w[key] == 1 })
	ln.Close()
	h.waitFor("the real out", func(w map[string]int) bool { _, ok := w[key]; return !ok })
	ln2, err := net.Listen("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go acceptAndClose(ln2, nil)
	h.waitFor("the real back", func(w map[string]int) bool { return w[key] == 1 })
	if inLoop.Load() != 0 {
		t.Error("connect checks ran outside the loop")
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestProbersBesideTheLoop: with Options.Loop, a check the loop does not
// run (an ftp negotiate check here) is still scheduled by the loop's timer
// but runs on a goroutine of its own, through the check function, and the
// table follows its verdicts.
func TestProbersBesideTheLoop(t *testing.T) {
	loop, err := checks.NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(loop.Close)
	r := mkReal("127.0.0.1", 21, 1)
	v := mkVirtual("10.0.0.1", 21, r)
	v.Check = conf.Check{Type: conf.CheckNegotiate, Service: conf.ServiceFTP}
	var up atomic.Bool
	var ran atomic.Int64
	up.Store(true)
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks(), opts: Options{Loop: loop},
		check: func(ctx context.Context, tg checks.Target) checks.Result {
			ran.Add(1)
			return checks.Result{Up: up.Load(), Reason: "by the check function"}
		}}
	h.run(mkConfig("a.cf", v))
	key := "ipv4/tcp/10.0.0.1:21 127.0.0.1:21"
	h.waitFor("the real in", func(w map[string]int) bool { return w[key] == 1 })
	up.Store(false)
	h.waitFor("the real out", func(w map[string]int) bool { _, ok := w[key]; return !ok })
	if ran.Load() < 2 {
		t.Errorf("the check function ran %d times, want the checks outside the loop to run there", ran.Load())
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestNextDelay: checks keep their interval from the first, skip the
// rounds a long check overran, follow a soft failure one timeout after
// the last start, and a delay of nothing (an interval of 0 set by hand,
// or a jitter drawing it) still ends.
func TestNextDelay(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80)
	p := &prober{proberKept: &proberKept{v: v}}
	t0 := time.Unix(1000, 0)
	v.Settings.CheckInterval = time.Second
	for _, c := range []struct {
		name string
		now  time.Time
		tr   plan.Transition
		want time.Duration
	}{
		{"quick check", t0.Add(10 * time.Millisecond), plan.Same, 990 * time.Millisecond},
		{"check overran two rounds", t0.Add(2500 * time.Millisecond), plan.Same, 500 * time.Millisecond},
		{"soft failure", t0.Add(100 * time.Millisecond), plan.SoftFailure, 2900 * time.Millisecond},
		{"soft failure past its timeout", t0.Add(4 * time.Second), plan.SoftFailure, 0},
	} {
		if got := p.nextDelay(t0, 3*time.Second, c.tr, c.now); got != c.want {
			t.Errorf("%s: next in %v, want %v", c.name, got, c.want)
		}
	}
	v.Settings.CheckInterval = 0
	if got := p.nextDelay(t0, time.Second, plan.Same, t0.Add(time.Second)); got <= 0 || got > time.Millisecond {
		t.Errorf("interval 0: next in %v, want at most a millisecond", got)
	}
}

// acceptAndClose takes every connection to ln and closes it, as a real
// server that a connect check finds up, until ln is closed; it counts them
// in accepted, if not nil.
func acceptAndClose(ln net.Listener, accepted *atomic.Int64) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if accepted != nil {
			accepted.Add(1)
		}
		c.Close()
	}
}

// BenchmarkProberLoopCheck is BenchmarkProberCheck with the check loop:
// ten probers whose connect checks of loopback listeners the loop
// schedules and runs, as the daemon does. Allocations per check include
// the listeners' accepts (a net.Conn each) as well as the daemon's.
func BenchmarkProberLoopCheck(b *testing.B) {
	loop, err := checks.NewLoop()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(loop.Close)
	var accepted atomic.Int64
	var reals []*conf.Real
	for range 10 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ln.Close() })
		go acceptAndClose(ln, &accepted)
		reals = append(reals, mkReal("127.0.0.1", uint16(ln.Addr().(*net.TCPAddr).Port), 1))
	}
	v := mkVirtual("10.0.0.1", 80, reals...)
	v.Settings.CheckInterval = time.Millisecond
	h := &harness{t: b, table: newMemory(), fake: newFakeChecks(), infoLog: true, opts: Options{Loop: loop},
		check: func(context.Context, checks.Target) checks.Result {
			b.Error("a connect check ran outside the loop")
			return checks.Result{}
		}}
	h.run(mkConfig("a.cf", v))
	perCheck(b, func() int { return int(accepted.Load()) })
	if err := h.stop(); err != nil {
		b.Fatal(err)
	}
}
