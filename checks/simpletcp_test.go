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

	udpTarget := negotiate(udp, "simpletcp", "/ping", "^pong ping$")
	udpTarget.Protocol = conf.UDP

	cases := []struct {
		name   string
		tg     Target
		up     bool
		reason string
	}{
		{"line matches", negotiate(status, "simpletcp", "/status\\n", `^load \d`), true, `matched "load 0.5"`},
		{"request sent with newlines", negotiate(status, "simpletcp", `/GET\nstatus\n`, `request="GET\\nstatus\\n"`), true, "matched"},
		{"ipv6", negotiate(status6, "simpletcp", "/status", "hello"), true, `matched "hello"`},
		{"empty receive matches the first line", negotiate(status, "simpletcp", "/x", ""), true, `matched "hello"`},
		{"real SMTP daemon", negotiate(loopback(smtpPort), "simpletcp", `/EHLO probe\nQUIT\n`, `^250 HELP`), true, `matched "250 HELP"`},
		{"udp", udpTarget, true, `matched "pong ping"`},
		{"wrong answer", negotiate(status, "simpletcp", "/status", "^load 9"), false, "receive /^load 9/ not found in 32 bytes"},
		{"refused", negotiate(refused(t, "tcp4"), "simpletcp", "/x", "y"), false, "connect: connection refused"},
		{"refused ipv6", negotiate(refused(t, "tcp6"), "simpletcp", "/x", "y"), false, "connect: connection refused"},
		{"accepts but never answers", negotiate(serve(t, "tcp4", silent), "simpletcp", "/x", "y"), false, "timeout after 2s waiting for receive /y/ (0 bytes read)"},
		{"answers too slowly", negotiate(trickle, "simpletcp", "/x", "line 50"), false, "timeout after 2s waiting for receive /line 50/"},
		{"endless answer", negotiate(flood, "simpletcp", "/x", "never"), false, fmt.Sprintf("more than %d bytes", maxRead)},
		{"garbage", negotiate(serve(t, "tcp4", garbage), "simpletcp", "/x", "^OK"), false, "receive /^OK/ not found in"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, c.tg, c.up, c.reason)
		})
	}
}
