package checks

import (
	"context"
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

// slack is what a down verdict may take beyond its timeout on a busy
// machine; generous, because what matters is that it does not wait for
// the server.
const slack = 3 * time.Second

// target is a check of the server at addr ("127.0.0.1:80", "[::1]:80").
func target(t *testing.T, addr string, typ conf.CheckType, service string) Target {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatalf("bad test address %q: %v", addr, err)
	}
	return Target{
		Addr: ap.Addr(), Port: ap.Port(), Protocol: conf.TCP,
		VirtualAddr: netip.MustParseAddr("192.0.2.10"), VirtualPort: 80,
		Check:   conf.Check{Type: typ, Service: service, Request: "/", HTTPMethod: "GET"},
		Timeout: 2 * time.Second,
	}
}

// expect runs the check and fails the test unless the verdict is want, the
// reason holds reason, and the check kept within its timeout.
func expect(t *testing.T, tg Target, want bool, reason string) Result {
	t.Helper()
	if want {
		// A server that is up answers long before any timeout; a
		// generous one keeps a loaded machine from failing it.
		tg.Timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
	defer cancel()
	start := time.Now()
	r := Run(ctx, tg)
	took := time.Since(start)
	if r.Up != want {
		t.Fatalf("Run(%s %s %s:%d) up = %v (%q), want %v", tg.Check.Type, tg.Check.Service, tg.Addr, tg.Port, r.Up, r.Reason, want)
	}
	if !strings.Contains(r.Reason, reason) {
		t.Fatalf("Run(%s %s) reason %q, want it to contain %q", tg.Check.Type, tg.Check.Service, r.Reason, reason)
	}
	if r.Duration <= 0 || r.Duration > took {
		t.Fatalf("Duration %v, want in (0, %v]", r.Duration, took)
	}
	if took > tg.Timeout+slack {
		t.Fatalf("check took %v, want at most timeout %v + %v", took, tg.Timeout, slack)
	}
	return r
}

// refused is a loopback address where nothing listens.
func refused(t *testing.T, network string) string {
	t.Helper()
	host := "127.0.0.1:0"
	if network == "tcp6" {
		host = "[::1]:0"
	}
	l, err := net.Listen(network, host)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// serve runs handle on every connection to a new loopback listener and
// returns its address; everything stops at the end of the test.
func serve(t *testing.T, network string, handle func(net.Conn)) string {
	t.Helper()
	host := "127.0.0.1:0"
	if network == "tcp6" {
		host = "[::1]:0"
	}
	l, err := net.Listen(network, host)
	if err != nil {
		t.Fatal(err)
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
	return l.Addr().String()
}

// mute accepts connections and never says a word.
func mute(t *testing.T, network string) string {
	return serve(t, network, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
}

// garbage answers every connection with bytes no protocol expects: after
// the client's first words, or after a moment for protocols where the
// server speaks first.
func garbage(t *testing.T, network string) string {
	return serve(t, network, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, _ = c.Read(make([]byte, 512))
		_, _ = c.Write([]byte("\x00\xff\xfe garbage \x1b[2J\x00\r\n\x80\x81"))
		time.Sleep(100 * time.Millisecond)
		_ = c.Close()
	})
}

// blackhole is a loopback listener whose accept queue is full, so that a
// new connection's SYN is dropped and connect hangs until its deadline.
func blackhole(t *testing.T) string {
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
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sa.(*syscall.SockaddrInet4).Port)).String()
	// Fill the queue: connections that complete but are never accepted.
	for i := 0; i < 8; i++ {
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Fatalf("could not fill the accept queue of %s", addr)
	return ""
}

// need fails the test, naming the Debian package, when a program is not
// installed.
func need(t *testing.T, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if p, err2 := exec.LookPath(dir + "/" + program); err2 == nil {
				return p
			}
		}
		t.Fatalf("%s not found: install the Debian package %s (apt-get install %s)", program, pkg, pkg)
	}
	return path
}
