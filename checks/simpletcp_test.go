package checks

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// statusServer reads the whole request (until the client closes its side)
// and answers with a few lines, the last saying which request it got.
func statusServer(t *testing.T, network string) netip.AddrPort {
	return serve(t, network, func(c net.Conn) {
		req, _ := io.ReadAll(io.LimitReader(c, 1024))
		fmt.Fprintf(c, "hello\nload 0.5\nrequest=%q\n", req)
	})
}

func TestSimpleTCP(t *testing.T) {
	t.Parallel()
	status := statusServer(t, "tcp4")
	status6 := statusServer(t, "tcp6")
	smtpPort := exim(t, "")
	trickle := serve(t, "tcp4", func(c net.Conn) {
		_, _ = io.ReadAll(io.LimitReader(c, 1024))
		for i := 0; i < 100; i++ {
			if _, err := fmt.Fprintf(c, "line %d\n", i); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	flood := serve(t, "tcp4", func(c net.Conn) {
		line := []byte(strings.Repeat("z", 1000) + "\n")
		for {
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	})
	udp := serveUDP(t, "udp4", func(q []byte) []byte { return []byte("pong " + string(q) + "\n") })

	simple := func(addr netip.AddrPort, request, receive string) Target {
		tg := target(addr, conf.CheckNegotiate, "simpletcp")
		tg.Check.Request, tg.Check.Receive = request, receive
		return tg
	}
	udpTarget := simple(udp, "/ping", "^pong ping$")
	udpTarget.Protocol = conf.UDP

	cases := []struct {
		name   string
		tg     Target
		up     bool
		reason string
	}{
		{"line matches", simple(status, "/status\\n", `^load \d`), true, `matched "load 0.5"`},
		{"request sent with newlines", simple(status, `/GET\nstatus\n`, `request="GET\\nstatus\\n"`), true, "matched"},
		{"ipv6", simple(status6, "/status", "hello"), true, `matched "hello"`},
		{"empty receive matches the first line", simple(status, "/x", ""), true, `matched "hello"`},
		{"real SMTP daemon", simple(loopback(smtpPort), `/EHLO probe\nQUIT\n`, `^250 HELP`), true, `matched "250 HELP"`},
		{"udp", udpTarget, true, `matched "pong ping"`},
		{"wrong answer", simple(status, "/status", "^load 9"), false, "receive /^load 9/ not found in 32 bytes"},
		{"refused", simple(refused(t, "tcp4"), "/x", "y"), false, "connect: connection refused"},
		{"refused ipv6", simple(refused(t, "tcp6"), "/x", "y"), false, "connect: connection refused"},
		{"accepts but never answers", simple(serve(t, "tcp4", silent), "/x", "y"), false, "timeout after 2s waiting for receive /y/ (0 bytes read)"},
		{"answers too slowly", simple(trickle, "/x", "line 50"), false, "timeout after 2s waiting for receive /line 50/"},
		{"endless answer", simple(flood, "/x", "never"), false, fmt.Sprintf("more than %d bytes", maxRead)},
		{"garbage", simple(serve(t, "tcp4", garbage), "/x", "^OK"), false, "receive /^OK/ not found in"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, c.tg, c.up, c.reason)
		})
	}
}
