package checks

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// No NNTP server in Debian starts in seconds with a private config, so the
// NNTP check is proven against a scripted server that speaks the first
// exchange of RFC 3977: the greeting.
func TestNNTP(t *testing.T) {
	t.Parallel()
	nntp := conf.Check{Service: "nntp"}
	cases := []serverCase{
		{"posting allowed", sayThenHold("200 news.example.org InterNetNews ready\r\n"), nntp, true, "200 news"},
		{"no posting", sayThenHold("201 reader only\r\n"), nntp, true, "201"},
		{"temporarily unavailable", sayThenHold("400 service temporarily unavailable\r\n"), nntp, false, "not 2xx"},
		{"garbage bytes", sayThenHold("\x00\xff\x13garbage\r\n"), nntp, false, "not 2xx"},
		{"endless line", func(c net.Conn) {
			for {
				if _, err := c.Write([]byte("2222222222222222")); err != nil {
					return
				}
			}
		}, nntp, false, "answer too long"},
		{"never answers", silent, nntp, false, "timeout after 1.5s waiting for banner"},
		{"too slow", late("200 late\r\n"), nntp, false, "timeout after 1.5s waiting for banner"},
		{"closes at once", func(net.Conn) {}, nntp, false, "connection closed waiting for banner"},
	}
	expectServers(t, checkNNTP, cases)
	expectRefused(t, checkNNTP, nntp, "connect: ", "refused")
}

func FuzzNNTPGreeting(f *testing.F) {
	f.Add("200 ready")
	f.Add("201")
	f.Add("400 go away")
	f.Add("2")
	f.Fuzz(func(t *testing.T, line string) {
		err := parseNNTPGreeting(line)
		if err == nil && (len(line) < 3 || line[0] != '2') {
			t.Errorf("accepted %q", line)
		}
	})
}

// TestRunIPv6 runs the hand-written protocols through the registry
// against IPv6 loopback servers; the daemons' tests cover IPv6 for the
// library-based services.
func TestRunIPv6(t *testing.T) {
	for _, c := range []struct{ service, login, greeting, reason string }{
		{"nntp", "", "200 ready\r\n", "NNTP greeting"},
		{"pop", "", "+OK ready\r\n", "POP3 greeting"},
		{"imap", "", "* OK ready\r\n", "IMAP greeting OK"},
		{"sip", "a@b", "SIP/2.0 200 OK\r\n\r\n", "200"},
	} {
		t.Run(c.service, func(t *testing.T) {
			ap := serve(t, "tcp6", sayThenHold(c.greeting))
			expect(t, Run, targetAt(ap, 5*time.Second, conf.Check{Service: c.service, Login: c.login}), true, c.reason)
		})
	}
	t.Run("sip udp", func(t *testing.T) {
		got := make(chan string, 1)
		ap := serveUDP(t, "udp6", func(b []byte) []byte {
			got <- string(b)
			return []byte("SIP/2.0 200 OK\r\n\r\n")
		})
		tg := targetAt(ap, 5*time.Second, conf.Check{Service: "sip", Login: "a@b"})
		tg.Protocol = conf.UDP
		expect(t, Run, tg, true, "200")
		if req := <-got; !strings.Contains(req, "Via: SIP/2.0/UDP [::1]:") {
			t.Errorf("request %q has no IPv6 Via", req)
		}
	})
}
