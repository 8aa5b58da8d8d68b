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

// Start starts the check of t, as Run does, when the loop runs such checks
// (see loopable); otherwise it returns false. The daemon plans a check once
// and runs it every round (Plan, Run); the tests start each on its own.
func (l *Loop) Start(t Target, finish func(r Result, canceled bool)) (*Pending, bool) {
	c := l.Plan(&t)
	if c == nil {
		return nil, false
	}
	return l.Run(c, finish), true
}

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

// TestLoopCancelHandedOff: a check whose answer the loop handed to the
// http client (a redirect here, its body still coming) ends at once when
// canceled, as canceled, not at its deadline: a prober that stops waits
// for its check, possibly on the loop's own goroutine.
func TestLoopCancelHandedOff(t *testing.T) {
	t.Parallel()
	l, err := testLoop()
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	addr := serve(t, "tcp4", func(c net.Conn) {
		buf := make([]byte, 1024)
		c.Read(buf)
		c.Write([]byte("HTTP/1.0 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 100\r\n\r\npart"))
		close(read)
		c.Read(buf) // the rest of the body never comes: until the check goes
	})
	tg := negotiate(addr, conf.ServiceHTTP, "/", "")
	tg.Timeout = 10 * time.Second
	got := make(chan bool, 1)
	p, ok := l.Start(tg, func(_ Result, canceled bool) { got <- canceled })
	if !ok {
		t.Fatal("not run")
	}
	<-read
	time.Sleep(200 * time.Millisecond) // the loop reads the head and hands it off
	start := time.Now()
	p.Cancel()
	select {
	case canceled := <-got:
		if !canceled {
			t.Error("finished, not canceled")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Cancel did not end a check handed to the client")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ended %s after Cancel", d)
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

// TestLoopTimers: a timer fires on the loop's goroutine once, at the time
// its last Reset set and in order with the others; one stopped does not
// fire; after Close, Reset sets nothing.
func TestLoopTimers(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	fired := make(chan string, 10)
	at := map[string]time.Time{}
	var mu sync.Mutex
	timer := func(name string) *Timer {
		return l.NewTimer(func() {
			mu.Lock()
			at[name] = time.Now()
			mu.Unlock()
			fired <- name
		})
	}
	start := time.Now()
	late, early, stopped, moved := timer("late"), timer("early"), timer("stopped"), timer("moved")
	late.Reset(150 * time.Millisecond)
	early.Reset(50 * time.Millisecond)
	stopped.Reset(60 * time.Millisecond)
	stopped.Stop()
	moved.Reset(20 * time.Millisecond)
	moved.Reset(100 * time.Millisecond) // in place of 20 ms
	var order []string
	for len(order) < 3 {
		select {
		case name := <-fired:
			order = append(order, name)
		case <-time.After(5 * time.Second):
			t.Fatalf("fired %v in 5 s, want early, moved, late", order)
		}
	}
	if want := []string{"early", "moved", "late"}; !slicesEqual(order, want) {
		t.Errorf("fired %v, want %v", order, want)
	}
	mu.Lock()
	for name, d := range map[string]time.Duration{"early": 50 * time.Millisecond, "moved": 100 * time.Millisecond, "late": 150 * time.Millisecond} {
		if got := at[name].Sub(start); got < d {
			t.Errorf("%s fired after %s, before its %s", name, got, d)
		}
	}
	mu.Unlock()
	// A timer set again from its own function fires again.
	again := make(chan struct{}, 2)
	var rearm *Timer
	times := 0 // only the loop's goroutine touches it
	rearm = l.NewTimer(func() {
		again <- struct{}{}
		if times++; times == 1 {
			rearm.Reset(time.Millisecond)
		}
	})
	rearm.Reset(time.Millisecond)
	for i := 0; i < 2; i++ {
		select {
		case <-again:
		case <-time.After(5 * time.Second):
			t.Fatalf("a timer set again from its function fired %d times in 5 s, want 2", i)
		}
	}
	l.Close()
	late.Reset(time.Millisecond)
	select {
	case name := <-fired:
		t.Errorf("%s fired: stopped, or set after Close", name)
	case <-time.After(200 * time.Millisecond):
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
