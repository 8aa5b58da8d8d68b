package checks

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// echoing greets with banner, then answers each line the client sends as
// refuse says, with the line itself echoed after it: a server that
// quotes a password back in its error message.
func echoing(banner string, answer func(line string) string) func(net.Conn) {
	return func(c net.Conn) {
		_, _ = c.Write([]byte(banner + "\r\n"))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if _, err := c.Write([]byte(answer(line) + "\r\n")); err != nil {
				return
			}
		}
	}
}

// TestReasonsNeverShowThePasswd runs the checks that send a passwd against
// servers that echo every command back in their refusal, with passwds
// plain, with characters quote escapes, and long enough to be cut at the
// end of a quotation: no reason shows the passwd or a recognisable piece.
func TestReasonsNeverShowThePasswd(t *testing.T) {
	t.Parallel()
	ftp := echoing("220 ready", func(l string) string {
		if strings.HasPrefix(l, "USER") {
			return "331 password please"
		}
		return "530 refused: " + l
	})
	pop := echoing("+OK ready", func(l string) string {
		if strings.HasPrefix(l, "USER") {
			return "+OK"
		}
		return "-ERR refused: " + l
	})
	imap := echoing("* OK ready", func(l string) string {
		tag, _, _ := strings.Cut(l, " ")
		return tag + " NO refused: " + l
	})
	for _, passwd := range []string{
		"wonderland-42",
		`se"cr\et`,
		"the-very-long-passwd-of-an-operator-who-took-the-advice-about-length-to-heart",
	} {
		for _, tc := range []struct {
			service string
			f       Func
			server  func(net.Conn)
		}{
			{conf.ServiceFTP, checkFTP, ftp},
			{conf.ServicePOP, checkPOP, pop},
			{conf.ServiceIMAP, checkIMAP, imap},
		} {
			c := conf.Check{Service: tc.service, Login: "alice", Passwd: passwd, Request: "/x"}
			tg := targetAt(serve(t, "tcp4", tc.server), testTimeout, c)
			raw := runCheck(tc.f, tg)
			r := runCheck(Run, tg)
			t.Logf("%s: %s", tc.service, r.Reason)
			if r.Up || !strings.Contains(r.Reason, "refused") {
				t.Errorf("%s: up=%v %q, want down with the server's refusal", tc.service, r.Up, r.Reason)
			}
			for _, piece := range []string{passwd, passwd[:6]} {
				if strings.Contains(unescaped(r.Reason), piece) {
					t.Errorf("%s: reason %q shows the passwd (%q)", tc.service, r.Reason, piece)
				}
			}
			if !strings.Contains(unescaped(raw.Reason), passwd[:6]) {
				t.Errorf("%s: the server did not echo the passwd: %q", tc.service, raw.Reason)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason  string
		secrets []string
		want    string
	}{
		{`530 "bad PASS sesame"`, []string{"sesame"}, `530 "bad PASS ***"`},
		{`NO "LOGIN alice \"se\\\"cr\""`, []string{`se"cr`}, `NO "LOGIN alice \"***\""`},
		{`-ERR "refused: PASS longsecr..."`, []string{"longsecret"}, `-ERR "refused: PASS ***..."`},
		{`-ERR "refused: PASS lo..."`, []string{"longsecret"}, `-ERR "refused: PASS lo..."`},
		{`timeout after 1s`, []string{"", "sesame"}, `timeout after 1s`},
	} {
		if got := redact(tc.reason, tc.secrets...); got != tc.want {
			t.Errorf("redact(%q, %q) = %q, want %q", tc.reason, tc.secrets, got, tc.want)
		}
	}
}

// unescaped is s with backslash escapes undone as often as they may have
// been made: the passwd as a reader would make it out.
func unescaped(s string) string {
	for range 3 {
		s = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(s)
	}
	return s
}
