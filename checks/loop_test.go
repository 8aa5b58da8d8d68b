package checks

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// testLoop is one Loop for the package's tests, as the daemon has one.
var testLoop = sync.OnceValues(NewLoop)

// runLoop runs the check of tg on the test loop as the prober does and
// times it; ok is false when the loop does not run such checks.
func runLoop(t *testing.T, tg Target) (Result, bool) {
	t.Helper()
	l, err := testLoop()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Result, 1)
	start := time.Now()
	if _, ok := l.Start(tg, func(r Result, canceled bool) {
		if canceled {
			r.Reason = "canceled: " + r.Reason
		}
		got <- r
	}); !ok {
		return Result{}, false
	}
	r := <-got
	r.Duration = time.Since(start)
	return r, true
}

// TestLoopConnectSameAsRun: the loop's connect checks give Run's verdicts
// and reasons, against a listener, a closed port and a black hole.
func TestLoopConnectSameAsRun(t *testing.T) {
	t.Parallel()
	open := serve(t, "tcp4", func(c net.Conn) { c.Close() })
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	for _, c := range []struct {
		name string
		tg   Target
		up   bool
	}{
		{"listening", target(open, conf.CheckConnect, ""), true},
		{"refused", target(closed, conf.CheckConnect, ""), false},
		{"black hole", target(blackhole(t), conf.CheckConnect, ""), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.tg.Timeout = 500 * time.Millisecond
			want := runCheck(Run, c.tg)
			got, ok := runLoop(t, c.tg)
			if !ok {
				t.Fatal("the loop does not run connect checks")
			}
			t.Logf("Run up=%v %q after %v; loop up=%v %q after %v", want.Up, want.Reason, want.Duration, got.Up, got.Reason, got.Duration)
			if got.Up != c.up || got.Up != want.Up || got.Reason != want.Reason {
				t.Errorf("loop: up=%v %q; Run: up=%v %q", got.Up, got.Reason, want.Up, want.Reason)
			}
			if d := got.Duration - want.Duration; d > 200*time.Millisecond || d < -200*time.Millisecond {
				t.Errorf("loop took %v, Run %v", got.Duration, want.Duration)
			}
		})
	}
}

// TestLoopCancel: a canceled check ends at once, as canceled, and its
// socket is closed.
func TestLoopCancel(t *testing.T) {
	t.Parallel()
	l, err := testLoop()
	if err != nil {
		t.Fatal(err)
	}
	tg := target(blackhole(t), conf.CheckConnect, "")
	tg.Timeout = 10 * time.Second
	got := make(chan bool, 1)
	p, ok := l.Start(tg, func(_ Result, canceled bool) { got <- canceled })
	if !ok {
		t.Fatal("not run")
	}
	p.Cancel()
	p.Cancel()
	select {
	case canceled := <-got:
		if !canceled {
			t.Error("finished, not canceled")
		}
	case <-time.After(time.Second):
		t.Fatal("Cancel did not end the check")
	}
}

// TestLoopDeclines: checks the loop does not run go the usual way.
func TestLoopDeclines(t *testing.T) {
	l, err := testLoop()
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, "tcp4", func(c net.Conn) { c.Close() })
	for _, tg := range []Target{
		negotiate(addr, conf.ServiceHTTPS, "/", "ok"),
		negotiate(addr, conf.ServiceFTP, "", ""),
		func() Target { t := target(addr, conf.CheckConnect, ""); t.Protocol = conf.UDP; return t }(),
		func() Target { t := negotiate(addr, conf.ServiceHTTP, "http://example.org/", "ok"); return t }(),
	} {
		tg.Timeout = time.Second
		if _, ok := l.Start(tg, func(Result, bool) { t.Error("finished a check it declined") }); ok {
			t.Errorf("the loop took %s %s", tg.Check.Type, tg.Check.Service)
		}
	}
}
