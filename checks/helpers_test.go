package checks

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// This file holds what the tests of every check share: scripted servers
// on loopback, targets, and the verdict assertions.

// slack is what a check may take beyond its timeout on a busy 2-core
// machine; generous, because what matters is that it does not wait for
// the server.
const slack = 3 * time.Second

// testTimeout is the check timeout of the cases against scripted servers:
// short, so that their down verdicts come quickly.
const testTimeout = 1500 * time.Millisecond

// target is a check of the server at addr as a virtual of 192.0.2.10:80
// sees it, with request "/", method GET and a timeout of 2s.
func target(addr netip.AddrPort, typ conf.CheckType, service string) Target {
	return Target{
		Addr: addr.Addr(), Port: addr.Port(), Protocol: conf.TCP,
		VirtualAddr: netip.MustParseAddr("192.0.2.10"), VirtualPort: 80,
		Check:   conf.Check{Type: typ, Service: service, Request: "/", HTTPMethod: "GET"},
		Timeout: 2 * time.Second,
	}
}

// negotiate is target of a negotiate check of service with request and
// receive.
func negotiate(addr netip.AddrPort, service, request, receive string) Target {
	tg := target(addr, conf.CheckNegotiate, service)
	tg.Check.Request, tg.Check.Receive = request, receive
	return tg
}

// with is c changed by edit.
func with(c conf.Check, edit func(*conf.Check)) conf.Check {
	edit(&c)
	return c
}

// targetAt is a negotiate check of the server at addr with the settings c.
func targetAt(addr netip.AddrPort, timeout time.Duration, c conf.Check) Target {
	c.Type = conf.CheckNegotiate
	return Target{Addr: addr.Addr(), Port: addr.Port(), Protocol: conf.TCP, Check: c, Timeout: timeout}
}

// expect runs the check f (Run goes through the registry) as runCheck
// does and fails the test unless the verdict is up as wanted, the reason
// contains every part, and the check kept within its timeout and left its
// Duration to the runner.
func expect(t *testing.T, f Func, tg Target, up bool, parts ...string) Result {
	t.Helper()
	if up {
		// A server that is up answers long before any timeout; a
		// generous one keeps a loaded machine from failing it.
		tg.Timeout = max(tg.Timeout, 15*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
	defer cancel()
	start := time.Now()
	r := f(ctx, tg)
	took := time.Since(start)
	if r.Duration != 0 {
		t.Fatalf("check stamped Duration %v; only the runner times a check", r.Duration)
	}
	r.Duration = took
	wantVerdict(t, tg, r, up, parts...)
	if took > tg.Timeout+slack {
		t.Fatalf("check took %v, want at most timeout %v + %v", took, tg.Timeout, slack)
	}
	return r
}

// runCheck runs f with the target's timeout as the context's deadline
// and stamps the time it took, as the runner does.
func runCheck(f Func, tg Target) Result {
	ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
	defer cancel()
	start := time.Now()
	r := f(ctx, tg)
	r.Duration = time.Since(start)
	return r
}

// wantVerdict fails the test unless r, the verdict on tg, is up as
// wanted, its reason contains every part, and its duration, as the test
// timed it, is within the target's timeout plus slack.
func wantVerdict(t *testing.T, tg Target, r Result, up bool, parts ...string) {
	t.Helper()
	t.Logf("up=%v after %v: %s", r.Up, r.Duration.Round(time.Millisecond), r.Reason)
	if r.Up != up {
		t.Fatalf("check %s %s of %s: up = %v (%q), want %v", tg.Check.Type, tg.Check.Service, netip.AddrPortFrom(tg.Addr, tg.Port), r.Up, r.Reason, up)
	}
	for _, p := range parts {
		if !strings.Contains(r.Reason, p) {
			t.Fatalf("check %s %s: reason %q, want it to contain %q", tg.Check.Type, tg.Check.Service, r.Reason, p)
		}
	}
	if r.Duration <= 0 || r.Duration > tg.Timeout+slack {
		t.Fatalf("Duration %v, want within (0, %v]", r.Duration, tg.Timeout+slack)
	}
}

// noSecrets fails the test when the reason shows one of the secrets.
func noSecrets(t *testing.T, r Result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.Reason, s) {
			t.Errorf("reason %q shows the passwd or secret %q", r.Reason, s)
		}
	}
}

// serverCase is a scripted server and the verdict a check must give it.
type serverCase struct {
	name   string
	handle func(net.Conn)
	check  conf.Check
	up     bool
	reason string
}

// expectServers runs the check f, in parallel, against a scripted server
// per case, with a timeout of testTimeout, and asks that no reason shows
// one of the secrets.
func expectServers(t *testing.T, f Func, cases []serverCase, secrets ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := expect(t, f, targetAt(serve(t, "tcp4", tc.handle), testTimeout, tc.check), tc.up, tc.reason)
			noSecrets(t, r, secrets...)
		})
	}
}

// expectRefused runs the check f, in parallel with the other subtests, to
// a loopback port where nothing listens, and wants it down with a reason
// that contains every part.
func expectRefused(t *testing.T, f Func, c conf.Check, parts ...string) {
	t.Helper()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		expect(t, f, targetAt(refused(t, "tcp4"), testTimeout, c), false, parts...)
	})
}

// daemonCase is a check's settings and the verdict a real daemon must
// give them.
type daemonCase struct {
	name   string
	check  conf.Check
	up     bool
	reason string
}

// expectDaemon runs the check f of each case, one after another, with a
// timeout of 10s, against the daemon listening on port of 127.0.0.1 over
// proto, and the first case, which must be up, over ::1 too; it asks that
// no reason shows one of the secrets.
func expectDaemon(t *testing.T, f Func, proto conf.Protocol, port uint16, cases []daemonCase, secrets ...string) {
	t.Helper()
	run := func(name string, addr netip.AddrPort, tc daemonCase) {
		t.Run(name, func(t *testing.T) {
			tg := targetAt(addr, 10*time.Second, tc.check)
			tg.Protocol = proto
			noSecrets(t, expect(t, f, tg, tc.up, tc.reason), secrets...)
		})
	}
	run("IPv6 "+cases[0].name, loopback6(port), cases[0])
	for _, tc := range cases {
		run(tc.name, loopback(port), tc)
	}
}

// portCase is a check of one port of a real daemon that listens on
// several, and the verdict the daemon must give.
type portCase struct {
	name   string
	f      Func
	port   uint16
	check  conf.Check
	up     bool
	reason string
}

// udpCase is a scripted UDP server and the verdict a check must give it.
type udpCase struct {
	name   string
	reply  func([]byte) []byte
	check  conf.Check
	up     bool
	reason string
}

// expectUDPServers is expectServers for checks over UDP.
func expectUDPServers(t *testing.T, f Func, cases []udpCase, secrets ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := targetAt(serveUDP(t, "udp4", tc.reply), testTimeout, tc.check)
			tg.Protocol = conf.UDP
			r := expect(t, f, tg, tc.up, tc.reason)
			noSecrets(t, r, secrets...)
		})
	}
}

// serve runs handle on every connection to a new listener on the loopback
// address of network ("tcp4", "tcp6"), and closes the connection when
// handle returns; everything stops at the end of the test.
func serve(t *testing.T, network string, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	l, err := net.Listen(network, loopbackHost(network))
	if err != nil {
		t.Fatalf("listen on loopback %s: %v", network, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
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
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// serveUDP answers each datagram to a new socket on the loopback address
// of network ("udp4", "udp6") with reply(datagram); a nil answer sends
// nothing.
func serveUDP(t *testing.T, network string, reply func([]byte) []byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket(network, loopbackHost(network))
	if err != nil {
		t.Fatalf("listen on loopback %s: %v", network, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(append([]byte(nil), buf[:n]...)); out != nil {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// loopbackHost is the loopback address with any port for network.
func loopbackHost(network string) string {
	if strings.HasSuffix(network, "6") {
		return "[::1]:0"
	}
	return "127.0.0.1:0"
}

func loopback(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

func loopback6(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.IPv6Loopback(), port)
}

// silent never says a word and holds the connection open, even after the
// client has closed its side, until the client goes away or the test ends.
func silent(c net.Conn) {
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if errors.Is(err, io.EOF) {
			// Half closed: a Read returns at once from now on.
			time.Sleep(20 * time.Millisecond)
		} else if err != nil {
			return
		}
	}
}

// sayThenHold writes s and keeps the connection open without answering.
func sayThenHold(s string) func(net.Conn) {
	return func(c net.Conn) {
		_, _ = io.WriteString(c, s)
		_, _ = io.Copy(io.Discard, c)
	}
}

// late answers s only after 4s, longer than the timeouts of these tests.
func late(s string) func(net.Conn) {
	return func(c net.Conn) {
		time.Sleep(4 * time.Second)
		_, _ = io.WriteString(c, s)
	}
}

// garbage answers with bytes no protocol expects: after the client's
// first words, or after a moment for protocols where the server speaks
// first.
func garbage(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, _ = c.Read(make([]byte, 512))
	_, _ = c.Write([]byte("\x00\xff\xfe garbage \x1b[2J\x00\r\n\x80\x81"))
	time.Sleep(100 * time.Millisecond)
}

// refused is a loopback address of network ("tcp4", "tcp6") where
// nothing listens. Its port is below the kernel's ephemeral range: a port
// from freePort, free when asked, could be handed to the next listener on
// port 0 of a test running beside, and the "refused" server would answer.
func refused(t *testing.T, network string) netip.AddrPort {
	t.Helper()
	for range 100 {
		port := uint16(10000 + rand.IntN(20000))
		l4, err := net.Listen("tcp", loopback(port).String())
		if err != nil {
			continue
		}
		l6, err := net.Listen("tcp", loopback6(port).String())
		_ = l4.Close()
		if err != nil {
			continue
		}
		_ = l6.Close()
		if strings.HasSuffix(network, "6") {
			return loopback6(port)
		}
		return loopback(port)
	}
	t.Fatal("no TCP port below 30000 free on both 127.0.0.1 and ::1 in 100 tries")
	return netip.AddrPort{}
}

// freePort is a TCP port free on both 127.0.0.1 and ::1 at the time of
// asking, for daemons that must be told their port and for refused.
func freePort(t *testing.T) uint16 { return freeOnBoth(t, "tcp") }

// freeUDPPort is a UDP port free on both 127.0.0.1 and ::1 at the time of
// asking.
func freeUDPPort(t *testing.T) uint16 { return freeOnBoth(t, "udp") }

// freeOnBoth is a port of network ("tcp", "udp") free on both loopback
// addresses: the daemons listen on both, and a port taken on one address
// only is handed out again on the other.
func freeOnBoth(t *testing.T, network string) uint16 {
	t.Helper()
	bind := func(addr string) (io.Closer, netip.AddrPort, error) {
		if network == "udp" {
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				return nil, netip.AddrPort{}, err
			}
			return pc, pc.LocalAddr().(*net.UDPAddr).AddrPort(), nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, netip.AddrPort{}, err
		}
		return l, l.Addr().(*net.TCPAddr).AddrPort(), nil
	}
	for range 100 {
		c4, ap, err := bind("127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen on loopback %s: %v", network, err)
		}
		c6, _, err := bind(loopback6(ap.Port()).String())
		_ = c4.Close()
		if err == nil {
			_ = c6.Close()
			return ap.Port()
		}
	}
	t.Fatalf("no %s port free on both 127.0.0.1 and ::1 in 100 tries", network)
	return 0
}

// blackhole is a loopback listener whose accept queue is full, so that a
// new connection's SYN is dropped and connect hangs until its deadline.
func blackhole(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := loopback(uint16(sa.(*syscall.SockaddrInet4).Port))
	// Fill the queue: connections that complete but are never accepted.
	for i := 0; i < 8; i++ {
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		c, err := d.Dial("tcp", addr.String())
		if err != nil {
			return addr
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Fatalf("could not fill the accept queue of %s", addr)
	return netip.AddrPort{}
}

// need returns the path of the first of programs that is installed (in
// PATH, /usr/sbin or /sbin), and fails the test naming the Debian package
// pkg when none is.
func need(t *testing.T, pkg string, programs ...string) string {
	t.Helper()
	for _, p := range programs {
		for _, c := range []string{p, "/usr/sbin/" + p, "/sbin/" + p} {
			if path, err := exec.LookPath(c); err == nil {
				return path
			}
		}
	}
	t.Fatalf("%s not found: install the Debian package %s (apt-get install %s)", programs[0], pkg, pkg)
	return ""
}
