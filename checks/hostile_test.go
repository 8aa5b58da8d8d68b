package checks

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// This file is the hostile real servers suite: every check that reads a
// reply against servers that dribble, flood, never answer, reset, loop
// redirects, garble the TLS handshake or flood UDP with wrong answers.
// Each check must end within its timeout and a small slack with a reason,
// and the process's memory must stay bounded. Its figures go to the log.

const (
	hostileTimeout = time.Second
	// hostileSlack is what a check may take beyond its timeout here.
	hostileSlack = time.Second
	// hostileRSS bounds the growth of the process's resident memory over
	// the suite (the race detector's shadow memory included).
	hostileRSS = 256 << 20
	// endlessCap is where an endless reply stops if the check never does.
	endlessCap = 1 << 30
)

// hellos are what each service's server says first, so that a check gets
// past its first test and into the bounded read: an HTTP head with a huge
// body, a banner without its line end.
var hellos = map[string]string{
	conf.ServiceHTTP:       "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n",
	conf.ServiceHTTPProxy:  "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n",
	conf.ServiceFTP:        "220 ",
	conf.ServiceSMTP:       "220 ",
	conf.ServiceSubmission: "220 ",
	conf.ServicePOP:        "+OK ",
	conf.ServiceIMAP:       "* OK ",
	conf.ServiceNNTP:       "200 ",
	conf.ServiceSIP:        "SIP/2.0 ",
	conf.ServiceSimpleTCP:  "no",
}

// hostileCounters are the bytes the hostile servers sent.
type hostileCounters struct{ sent atomic.Int64 }

func (h *hostileCounters) write(c net.Conn, b []byte) error {
	n, err := c.Write(b)
	h.sent.Add(int64(n))
	return err
}

// dribble sends hello and then more, a byte a second.
func (h *hostileCounters) dribble(hello string) func(net.Conn) {
	return func(c net.Conn) {
		msg := hello + strings.Repeat("x", 60)
		for i := 0; i < len(msg); i++ {
			if h.write(c, []byte{msg[i]}) != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}
}

// endless sends hello and then bytes without end (up to endlessCap).
func (h *hostileCounters) endless(hello string) func(net.Conn) {
	return func(c net.Conn) {
		go func() { _, _ = io.Copy(io.Discard, c) }()
		if h.write(c, []byte(hello)) != nil {
			return
		}
		chunk := []byte(strings.Repeat("x", 32<<10))
		for sent := 0; sent < endlessCap; sent += len(chunk) {
			if h.write(c, chunk) != nil {
				return
			}
		}
	}
}

// reset sends the start of hello and resets the connection.
func (h *hostileCounters) reset(hello string) func(net.Conn) {
	return func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Read(make([]byte, 512))
		_ = h.write(c, []byte(hello[:len(hello)/2]))
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST
		}
	}
}

// garbledTLS answers a ClientHello with random bytes and holds on.
func (h *hostileCounters) garbledTLS(c net.Conn) {
	_, _ = c.Read(make([]byte, 4096))
	junk := make([]byte, 4096)
	_, _ = rand.Read(junk)
	_ = h.write(c, junk)
	_, _ = io.Copy(io.Discard, c)
}

// redirectLoop answers every HTTP request with a redirect to itself.
func (h *hostileCounters) redirectLoop(scheme, where string) func(net.Conn) {
	return func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				answer := "HTTP/1.1 302 Found\r\nLocation: " + scheme + "://" + where + "/loop\r\nContent-Length: 0\r\n\r\n"
				if h.write(c, []byte(answer)) != nil {
					return
				}
			}
		}
	}
}

// udpFlood answers every datagram with a hundred wrong ones.
func (h *hostileCounters) udpFlood(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		junk := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for i := range 100 {
				// The request with its first bytes changed (a DNS or
				// RADIUS answer to another question), or noise.
				out := junk
				if i%2 == 0 && n > 4 {
					out = append([]byte(nil), buf[:n]...)
					out[0], out[1] = out[0]^0xff, byte(i)
				} else {
					_, _ = rand.Read(junk)
				}
				m, _ := pc.WriteTo(out, from)
				h.sent.Add(int64(m))
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// serveTLS is serve with TLS on top, from a throwaway certificate.
func serveTLS(t *testing.T, cert tls.Certificate, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	return serve(t, "tcp4", func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if tc.Handshake() != nil {
			return
		}
		_ = tc.SetDeadline(time.Time{})
		handle(tc)
	})
}

// hostileCase is a check against a hostile server.
type hostileCase struct {
	service, behaviour string
	tg                 Target
}

// rssBytes is the process's resident memory.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func hostileCases(t *testing.T, h *hostileCounters) []hostileCase {
	t.Helper()
	certFile, keyFile := writeSelfSigned(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsServices := map[string]bool{conf.ServiceHTTPS: true, conf.ServicePOPS: true, conf.ServiceIMAPS: true, conf.ServiceLDAPS: true}
	var cases []hostileCase
	add := func(service, behaviour string, addr netip.AddrPort, proto conf.Protocol) hostileCase {
		c := hostileCase{service, behaviour, serviceTarget(service, addr, proto, hostileTimeout)}
		if service == conf.ServiceHTTPProxy {
			c.tg.Check.Receive = "ok" // else any 200 is up, its body unread
		}
		cases = append(cases, c)
		return c
	}
	for _, service := range conf.Services() {
		if service == conf.ServiceNone {
			continue
		}
		if service == conf.ServiceRADIUS {
			continue // UDP only: its flood is below
		}
		hello := hellos[service]
		if hello == "" {
			// A length field of one, for the binary protocols.
			hello = "\x00\x01garbage"
		}
		add(service, "a byte a second", serve(t, "tcp4", h.dribble(hello)), conf.TCP)
		add(service, "endless reply", serve(t, "tcp4", h.endless(hello)), conf.TCP)
		add(service, "never answers", serve(t, "tcp4", mute), conf.TCP)
		add(service, "reset mid-reply", serve(t, "tcp4", h.reset(hello)), conf.TCP)
		if tlsServices[service] {
			add(service, "garbage TLS handshake", serve(t, "tcp4", h.garbledTLS), conf.TCP)
		}
	}
	// Redirect loops: to itself over http and https, and through a proxy.
	var addr atomic.Value
	loop := serve(t, "tcp4", func(c net.Conn) { h.redirectLoop("http", addr.Load().(string))(c) })
	addr.Store(loop.String())
	add(conf.ServiceHTTP, "redirect loop", loop, conf.TCP)
	var taddr atomic.Value
	tloop := serveTLS(t, cert, func(c net.Conn) { h.redirectLoop("https", taddr.Load().(string))(c) })
	taddr.Store(tloop.String())
	add(conf.ServiceHTTPS, "redirect loop", tloop, conf.TCP)
	proxy := add(conf.ServiceHTTPProxy, "redirect loop", loop, conf.TCP)
	proxy.tg.Check.Request = "http://" + loop.String() + "/"
	cases[len(cases)-1] = proxy
	// The TLS services with their TLS right and the reply hostile.
	for _, service := range []string{conf.ServicePOPS, conf.ServiceIMAPS, conf.ServiceHTTPS} {
		hello := map[string]string{conf.ServicePOPS: "+OK ", conf.ServiceIMAPS: "* OK ", conf.ServiceHTTPS: hellos[conf.ServiceHTTP]}[service]
		add(service, "endless reply in TLS", serveTLS(t, cert, h.endless(hello)), conf.TCP)
	}
	for _, service := range []string{conf.ServiceDNS, conf.ServiceRADIUS, conf.ServiceSIP} {
		add(service, "UDP flood of wrong answers", h.udpFlood(t), conf.UDP)
	}
	return cases
}

// TestHostileServers runs every check that reads a reply against hostile
// servers and prints what each did: how long it took, its reason, and the
// memory of the process.
func TestHostileServers(t *testing.T) {
	// Not parallel: the memory measured is the whole process's.
	h := &hostileCounters{}
	cases := hostileCases(t, h)
	rss0 := rssBytes(t)
	var peak atomic.Int64
	peak.Store(rss0)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if r := rssBytes(t); r > peak.Load() {
				peak.Store(r)
			}
		}
	}()

	type row struct {
		hostileCase
		r    Result
		took time.Duration
	}
	rows := make([]row, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 12) // bounded: a 2-core machine, shared
	start := time.Now()
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), c.tg.Timeout)
			defer cancel()
			t0 := time.Now()
			r := Run(ctx, c.tg)
			rows[i] = row{c, r, time.Since(t0)}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	close(stopSampling)
	<-sampled
	rss1 := rssBytes(t)

	sort.Slice(rows, func(i, j int) bool {
		if rows[i].service != rows[j].service {
			return rows[i].service < rows[j].service
		}
		return rows[i].behaviour < rows[j].behaviour
	})
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-11s %-27s %8s  %s\n", "SERVICE", "SERVER", "TOOK", "REASON")
	var worst time.Duration
	for _, x := range rows {
		reason := x.r.Reason
		if len(reason) > 90 {
			reason = reason[:90] + "..."
		}
		fmt.Fprintf(&b, "%-11s %-27s %8s  %s\n", x.service, x.behaviour, x.took.Round(time.Millisecond), reason)
		worst = max(worst, x.took)
		switch {
		case x.r.Up:
			t.Errorf("%s against a server that %s: up (%q), want down", x.service, x.behaviour, x.r.Reason)
		case strings.TrimSpace(x.r.Reason) == "":
			t.Errorf("%s against a server that %s: down without a reason", x.service, x.behaviour)
		case x.took > x.tg.Timeout+hostileSlack:
			t.Errorf("%s against a server that %s: took %v, want at most %v + %v", x.service, x.behaviour, x.took, x.tg.Timeout, hostileSlack)
		}
	}
	fmt.Fprintf(&b, "%d checks (timeout %v) in %v, the slowest %v; the servers sent %.1f MiB\n",
		len(rows), hostileTimeout, wall.Round(time.Millisecond), worst.Round(time.Millisecond), float64(h.sent.Load())/(1<<20))
	fmt.Fprintf(&b, "VmRSS %.1f MiB before, %.1f MiB after, %.1f MiB at most (bound: %d MiB more than before)\n",
		float64(rss0)/(1<<20), float64(rss1)/(1<<20), float64(peak.Load())/(1<<20), hostileRSS>>20)
	t.Log(b.String())
	if grown := peak.Load() - rss0; grown > hostileRSS {
		t.Errorf("resident memory grew by %.1f MiB during the suite, bound %d MiB", float64(grown)/(1<<20), hostileRSS>>20)
	}
}
