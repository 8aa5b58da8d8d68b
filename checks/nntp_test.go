package checks

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// No NNTP server in Debian starts in seconds with a private config, so the
// NNTP check is proven against a scripted server that speaks the first
// exchange of RFC 3977: the greeting.
func TestNNTP(t *testing.T) {
	cases := []struct {
		name   string
		handle func(net.Conn)
		up     bool
		reason string
	}{
		{"posting allowed", sayThenHold("200 news.example.org InterNetNews ready\r\n"), true, "200 news"},
		{"no posting", sayThenHold("201 reader only\r\n"), true, "201"},
		{"temporarily unavailable", sayThenHold("400 service temporarily unavailable\r\n"), false, "not 2xx"},
		{"garbage bytes", sayThenHold("\x00\xff\x13garbage\r\n"), false, "not 2xx"},
		{"endless line", func(c net.Conn) {
			for {
				if _, err := c.Write([]byte("2222222222222222")); err != nil {
					return
				}
			}
		}, false, "answer too long"},
		{"never answers", silent, false, "timeout after 1.5s waiting for banner"},
		{"too slow", func(c net.Conn) {
			time.Sleep(testTimeout + 500*time.Millisecond)
			io.WriteString(c, "200 late\r\n")
		}, false, "timeout after 1.5s waiting for banner"},
		{"closes at once", func(net.Conn) {}, false, "connection closed waiting for banner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ap := scriptedServer(t, tc.handle)
			r := runCheck(checkNNTP, targetAt(ap, testTimeout, conf.Check{Service: "nntp"}))
			wantVerdict(t, r, tc.up, testTimeout, tc.reason)
		})
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		r := runCheck(checkNNTP, targetAt(refusedAddr(t), testTimeout, conf.Check{Service: "nntp"}))
		wantVerdict(t, r, false, testTimeout, "connect: ", "refused")
	})
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
