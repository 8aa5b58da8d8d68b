package checks

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// This file holds what the tests of the imap, pop, ldap, mysql, pgsql,
// radius, oracle, sip and nntp checks share: scripted servers on loopback,
// a way to find the real daemons from apt, and the verdict assertions.

// testTimeout is the check timeout of the down cases; margin is how much
// longer than the timeout a check may take on a loaded 2-core machine.
const (
	testTimeout = 1500 * time.Millisecond
	margin      = 3 * time.Second
)

// scriptedServer listens on loopback TCP and runs handle for each
// connection until the test ends.
func scriptedServer(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// silent accepts and then never says a word, until the peer goes away.
func silent(c net.Conn) { io.Copy(io.Discard, c) }

// sayThenHold writes s and keeps the connection open without answering.
func sayThenHold(s string) func(net.Conn) {
	return func(c net.Conn) {
		io.WriteString(c, s)
		io.Copy(io.Discard, c)
	}
}

// refusedAddr is a loopback TCP port that nothing listens on.
func refusedAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// freePort returns a loopback TCP port free at the time of asking, for
// daemons that must be told their port.
func freePort(t *testing.T) uint16 { return refusedAddr(t).Port() }

func targetAt(ap netip.AddrPort, timeout time.Duration, c conf.Check) Target {
	c.Type = conf.CheckNegotiate
	return Target{Addr: ap.Addr(), Port: ap.Port(), Protocol: conf.TCP, Check: c, Timeout: timeout}
}

// runCheck runs f with the target's timeout as the context deadline, as
// the prober does.
func runCheck(f Func, tg Target) Result {
	ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
	defer cancel()
	return f(ctx, tg)
}

// wantVerdict fails unless r has the wanted verdict, its reason contains
// every part, and it came within the timeout plus the margin.
func wantVerdict(t *testing.T, r Result, up bool, timeout time.Duration, parts ...string) {
	t.Helper()
	if r.Up != up {
		t.Errorf("verdict up=%v, want up=%v (reason %q)", r.Up, up, r.Reason)
	}
	for _, p := range parts {
		if !strings.Contains(r.Reason, p) {
			t.Errorf("reason %q does not contain %q", r.Reason, p)
		}
	}
	if r.Duration <= 0 || r.Duration > timeout+margin {
		t.Errorf("duration %v, want within (0, %v]", r.Duration, timeout+margin)
	}
}

// needProgram returns the path of a program from a Debian package, and
// fails the test naming the package when it is not installed.
func needProgram(t *testing.T, pkg string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: install the Debian package %s (make deps)", candidates[0], pkg)
	return ""
}
