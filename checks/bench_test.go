package checks

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// benchServer answers every connection on 127.0.0.1, one at a time, with
// answer once it has read a request head (or at once when answer is
// empty, for connect checks), then closes it. It is a loop on one
// goroutine with one buffer, so that what a benchmark counts per check is
// almost all the check's own; httptest would add a goroutine, a request
// and header maps of its own per check.
func benchServer(b testing.TB, answer string) netip.AddrPort {
	b.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if answer != "" {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				n := 0
				for n < len(buf) && !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
					m, err := c.Read(buf[n:])
					n += m
					if err != nil {
						break
					}
				}
				_, _ = c.Write([]byte(answer))
			}
			_ = c.Close()
		}
	}()
	b.Cleanup(func() { _ = l.Close(); <-done })
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// benchCheck runs the check of tg b.N times as the prober does: Run, in a
// context bounded by the check's timeout. Besides the wall time it reports
// the process's CPU time per check (the server's share included), user
// and system: on a loaded machine wall time counts the waits for the other
// processes, and CPU time is what a director has too little of; user time
// is the part the check's own code, not the kernel, spends.
func benchCheck(b *testing.B, tg Target, wantUp bool) {
	b.Helper()
	b.ReportAllocs()
	user, sys := cpuTime(b)
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
		r := Run(ctx, tg)
		cancel()
		if r.Up != wantUp {
			b.Fatalf("up = %v (%s), want %v", r.Up, r.Reason, wantUp)
		}
	}
	user2, sys2 := cpuTime(b)
	n := float64(b.N)
	b.ReportMetric(float64(user2-user+sys2-sys)/n, "cpu-ns/op")
	b.ReportMetric(float64(user2-user)/n, "user-ns/op")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// okAnswer is a health page as a web server sends it.
const okAnswer = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 02 Jun 2025 10:00:00 GMT\r\n" +
	"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

// BenchmarkHTTPCheck is one negotiate http check, receive "ok", of a
// server on loopback that answers 200 OK with the body "ok".
func BenchmarkHTTPCheck(b *testing.B) {
	tg := negotiate(benchServer(b, okAnswer), conf.ServiceHTTP, "/", "ok")
	benchCheck(b, tg, true)
}

// BenchmarkHTTPCheckChunked is BenchmarkHTTPCheck with the body sent
// chunked, as servers send pages they generate.
func BenchmarkHTTPCheckChunked(b *testing.B) {
	answer := "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\n" +
		"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n"
	tg := negotiate(benchServer(b, answer), conf.ServiceHTTP, "/", "ok")
	benchCheck(b, tg, true)
}

// BenchmarkConnectCheck is one connect check of a server on loopback.
func BenchmarkConnectCheck(b *testing.B) {
	tg := target(benchServer(b, ""), conf.CheckConnect, conf.ServiceHTTP)
	benchCheck(b, tg, true)
}

// benchLoop is benchCheck for checks run in a Loop, as the daemon runs
// connect and http checks.
func benchLoop(b *testing.B, tg Target, wantUp bool) {
	b.Helper()
	l, err := NewLoop()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	got := make(chan Result, 1)
	finish := func(r Result, _ bool) { got <- r }
	b.ReportAllocs()
	user, sys := cpuTime(b)
	for b.Loop() {
		if _, ok := l.Start(tg, finish); !ok {
			b.Fatal("the loop does not run this check")
		}
		if r := <-got; r.Up != wantUp {
			b.Fatalf("up = %v (%s), want %v", r.Up, r.Reason, wantUp)
		}
	}
	user2, sys2 := cpuTime(b)
	n := float64(b.N)
	b.ReportMetric(float64(user2-user+sys2-sys)/n, "cpu-ns/op")
	b.ReportMetric(float64(user2-user)/n, "user-ns/op")
}

// BenchmarkLoopHTTPCheck is BenchmarkHTTPCheck in the check loop.
func BenchmarkLoopHTTPCheck(b *testing.B) {
	tg := negotiate(benchServer(b, okAnswer), conf.ServiceHTTP, "/", "ok")
	benchLoop(b, tg, true)
}

// BenchmarkLoopConnectCheck is BenchmarkConnectCheck in the check loop.
func BenchmarkLoopConnectCheck(b *testing.B) {
	tg := target(benchServer(b, ""), conf.CheckConnect, conf.ServiceHTTP)
	benchLoop(b, tg, true)
}
