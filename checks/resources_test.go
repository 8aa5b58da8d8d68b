package checks

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// This file asks that a check gives back everything it took: a daemon runs
// thousands of checks an hour against servers that may never answer, and
// one socket kept per check runs the director out of file descriptors.

// mute accepts and never answers: it reads and drops what the client
// sends and closes its side only when the client has closed, so that a
// socket the check keeps open is kept open on both sides.
func mute(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// openFDs counts the open file descriptors of the test process.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(entries)
}

// settle waits, up to within, until count() is at most want, and returns
// the last count.
func settle(count func() int, want int, within time.Duration) int {
	deadline := time.Now().Add(within)
	n := count()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = count()
	}
	return n
}

// serviceTarget is a negotiate check of service at addr over proto, with
// settings that make the check talk as far as it can: a login, a passwd, a
// secret, a request and a receive.
func serviceTarget(service string, addr netip.AddrPort, proto conf.Protocol, timeout time.Duration) Target {
	c := conf.Check{Type: conf.CheckNegotiate, Service: service, Login: "alice", Passwd: "wonderland",
		Secret: "sesame", Database: "db", Request: "SELECT 1"}
	switch service {
	case conf.ServiceHTTPProxy:
		c.Request = "http://" + addr.String() + "/"
	case conf.ServiceHTTP, conf.ServiceHTTPS, conf.ServiceFTP, conf.ServiceSimpleTCP:
		c.Request, c.Receive = "/index.html", "ok"
	case conf.ServiceDNS:
		c.Request = "example.org"
	}
	return Target{Addr: addr.Addr(), Port: addr.Port(), Protocol: proto, Check: c, Timeout: timeout}
}

// udpServices are the services that also run over UDP.
var udpServices = []string{conf.ServiceDNS, conf.ServiceSIP, conf.ServiceSimpleTCP, conf.ServiceRADIUS}

// muteTargets are checks of every kind that talks to a server, each against
// a server at tcp (TCP) or udp (UDP) that accepts and never answers.
func muteTargets(t *testing.T, tcp, udp netip.AddrPort, timeout time.Duration) map[string]Target {
	t.Helper()
	out := map[string]Target{}
	for _, service := range conf.Services() {
		if service != conf.ServiceNone {
			out[service] = serviceTarget(service, tcp, conf.TCP, timeout)
		}
	}
	// A proxy asked for an https URL tunnels with CONNECT, then TLS.
	https := out[conf.ServiceHTTPProxy]
	https.Check.Request = "https://" + tcp.String() + "/"
	out["http_proxy https"] = https
	for _, service := range udpServices {
		out[service+" udp"] = serviceTarget(service, udp, conf.UDP, timeout)
	}
	out["connect"] = Target{Addr: tcp.Addr(), Port: tcp.Port(), Protocol: conf.TCP, Check: conf.Check{Type: conf.CheckConnect}, Timeout: timeout}
	ext := externalTarget(t, conf.CheckExternal, script(t, "sleep 30 & sleep 30\n"))
	ext.Timeout = timeout
	out["external"] = ext
	return out
}

// TestChecksGiveBackWhatTheyTook runs many checks of every service against
// servers that accept and never answer, and asks that when the checks have
// ended the process holds no more open files and goroutines than before.
// It failed for https, whose TLS handshake ran on past the check's end with
// no bound of its own, one socket and two goroutines a check.
func TestChecksGiveBackWhatTheyTook(t *testing.T) {
	// Not parallel: the counts are the whole process's.
	tcp := serve(t, "tcp4", mute)
	udp := serveUDP(t, "udp4", func([]byte) []byte { return nil })
	const (
		rounds  = 8
		timeout = 300 * time.Millisecond
	)
	targets := muteTargets(t, tcp, udp, timeout)
	// The transports, the resolver and the runtime set themselves up on
	// first use: one round first, then the baseline.
	runAll(t, targets, 1, timeout)
	runtime.GC()
	fds0 := settle(func() int { return openFDs(t) }, 0, 0)
	gs0 := settle(runtime.NumGoroutine, 0, 0)

	runAll(t, targets, rounds, timeout)

	fds := settle(func() int { return openFDs(t) }, fds0, 3*time.Second)
	gs := settle(runtime.NumGoroutine, gs0, 3*time.Second)
	t.Logf("%d checks of %d kinds: open files %d before, %d after; goroutines %d before, %d after",
		rounds*len(targets), len(targets), fds0, fds, gs0, gs)
	if fds > fds0 {
		t.Errorf("%d open files left behind by %d checks", fds-fds0, rounds*len(targets))
	}
	if gs > gs0 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left behind by %d checks:\n%s", gs-gs0, rounds*len(targets), buf[:runtime.Stack(buf, true)])
	}
}

// runAll runs every target rounds times, all kinds at once, and asks that
// each is down (but connect) and ends within its timeout and slack.
func runAll(t *testing.T, targets map[string]Target, rounds int, timeout time.Duration) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(targets)*rounds)
	for name, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				start := time.Now()
				r := Run(ctx, tg)
				took := time.Since(start)
				cancel()
				// A connect check is up on any server that accepts.
				if (r.Up && name != "connect") || took > timeout+slack {
					errs <- fmt.Errorf("%s: up=%v after %v: %s", name, r.Up, took, r.Reason)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
