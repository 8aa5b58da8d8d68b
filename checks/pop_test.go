package checks

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// TestPOPFailures covers the answers a real dovecot never gives, with a
// scripted server; TestDovecot has the real ones.
func TestPOPFailures(t *testing.T) {
	t.Parallel()
	login := conf.Check{Login: "alice", Passwd: "wonderland"}
	// userThen greets, accepts USER, and answers PASS with pass.
	userThen := func(pass string) func(net.Conn) {
		return func(c net.Conn) {
			r := bufio.NewReader(c)
			io.WriteString(c, "+OK ready\r\n")
			r.ReadString('\n')
			io.WriteString(c, "+OK send PASS\r\n")
			r.ReadString('\n')
			io.WriteString(c, pass)
			io.Copy(io.Discard, r)
		}
	}
	cases := []serverCase{
		{"never answers", silent, conf.Check{}, false, "timeout after 1.5s waiting for banner"},
		{"too slow", late("+OK late\r\n"), conf.Check{}, false, "timeout after 1.5s waiting for banner"},
		{"garbage", sayThenHold("\xff\xfe\x00\x01\r\n"), conf.Check{}, false, "not a POP3 status line"},
		{"refusing greeting", sayThenHold("-ERR maintenance\r\n"), conf.Check{}, false, `banner: -ERR "maintenance"`},
		{"wrong passwd", userThen("-ERR [AUTH] Authentication failed.\r\n"), login, false, "login failed: PASS answer: -ERR"},
		{"PASS never answered", userThen(""), login, false, "timeout after 1.5s waiting for PASS answer"},
		{"closed after USER", func(c net.Conn) {
			io.WriteString(c, "+OK ready\r\n")
			bufio.NewReader(c).ReadString('\n')
		}, login, false, "connection closed waiting for USER answer"},
	}
	expectServers(t, checkPOP, cases, "wonderland")
	expectRefused(t, checkPOPS, login, "connect: connection refused")
	t.Run("line break in login", func(t *testing.T) {
		t.Parallel()
		ap := serve(t, "tcp4", sayThenHold("+OK ready\r\n"))
		expect(t, checkPOP, targetAt(ap, testTimeout, conf.Check{Login: "alice\r\nDELE 1", Passwd: "x"}), false, "line break")
	})
}

func FuzzPOPReply(f *testing.F) {
	for _, s := range []string{"+OK ready", "-ERR no", "+OK", "-ERR", "+OKAY", "* OK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ok, text, err := parsePOPReply(line)
		if err != nil {
			return
		}
		if ok != strings.HasPrefix(line, "+OK") {
			t.Errorf("%q: ok=%v", line, ok)
		}
		if !strings.HasSuffix(line, text) {
			t.Errorf("%q: text %q is not its tail", line, text)
		}
	})
}
