package checks

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// popHold, as a popScript answer, leaves the command unanswered and keeps
// the connection open.
const popHold = "\x00hold"

// popScript is a scripted POP3 server: it greets with banner and answers
// each command line from answers, looked up by the whole line, then by its
// first word, then by "*". A line without an answer closes the connection.
func popScript(banner string, answers map[string]string) func(net.Conn) {
	return func(c net.Conn) {
		io.WriteString(c, banner)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			verb, _, _ := strings.Cut(line, " ")
			answer, ok := answers[line]
			if !ok {
				answer, ok = answers[verb]
			}
			if !ok {
				answer, ok = answers["*"]
			}
			if !ok {
				return
			}
			if answer == popHold {
				io.Copy(io.Discard, r)
				return
			}
			io.WriteString(c, answer)
		}
	}
}

// TestPOPFailures covers the answers a real dovecot never gives, with a
// scripted server; TestDovecot has the real ones.
func TestPOPFailures(t *testing.T) {
	t.Parallel()
	login := conf.Check{Login: "alice", Passwd: "wonderland"}
	// plain greets without a timestamp, knows no CAPA, accepts USER and
	// answers PASS with pass.
	plain := func(pass string) func(net.Conn) {
		return popScript("+OK ready\r\n", map[string]string{
			"CAPA": "-ERR unknown command\r\n", "USER": "+OK send PASS\r\n", "PASS": pass, "QUIT": "+OK bye\r\n"})
	}
	cases := []serverCase{
		{"never answers", silent, conf.Check{}, false, "timeout after 1.5s waiting for banner"},
		{"too slow", late("+OK late\r\n"), conf.Check{}, false, "timeout after 1.5s waiting for banner"},
		{"garbage", sayThenHold("\xff\xfe\x00\x01\r\n"), conf.Check{}, false, "not a POP3 status line"},
		{"refusing greeting", sayThenHold("-ERR maintenance\r\n"), conf.Check{}, false, `banner: -ERR "maintenance"`},
		{"USER and PASS", plain("+OK logged in\r\n"), login, true, `POP3 login as "alice" accepted`},
		{"wrong passwd", plain("-ERR [AUTH] Authentication failed.\r\n"), login, false, `login failed: PASS answer: -ERR "[AUTH] Authentication failed."`},
		{"PASS never answered", plain(popHold), login, false, "timeout after 1.5s waiting for PASS answer"},
		{"USER refused", popScript("+OK ready\r\n", map[string]string{"CAPA": "-ERR no\r\n", "USER": "-ERR who?\r\n"}),
			login, false, `login failed: USER answer: -ERR "who?"`},
		{"closed after USER", popScript("+OK ready\r\n", map[string]string{"CAPA": "-ERR no\r\n"}),
			login, false, "connection closed waiting for USER answer"},
		{"closed after CAPA", popScript("+OK ready\r\n", nil), login, false, "login failed: connection closed waiting for CAPA answer"},
		{"CAPA list never ends", popScript("+OK ready\r\n", map[string]string{"CAPA": "+OK\r\nUSER\r\n"}),
			login, false, "timeout after 1.5s waiting for end of CAPA list"},
		{"CAPA list without end", func(c net.Conn) {
			io.WriteString(c, "+OK ready\r\n")
			bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "+OK\r\n")
			for {
				if _, err := io.WriteString(c, "X-ENDLESS CAPABILITY LINE\r\n"); err != nil {
					return
				}
			}
		}, login, false, "end of CAPA list: answer too long"},
	}
	expectServers(t, checkPOP, cases, "wonderland")
	expectRefused(t, checkPOPS, login, "connect: connection refused")
	t.Run("line break in login", func(t *testing.T) {
		t.Parallel()
		ap := serve(t, "tcp4", sayThenHold("+OK ready\r\n"))
		expect(t, checkPOP, targetAt(ap, testTimeout, conf.Check{Login: "alice\r\nDELE 1", Passwd: "x"}), false, "line break")
	})
}

// TestPOPAPOP covers APOP with scripted servers: the digest of RFC 1939's
// example, and what Mail::POP3Client does after APOP, which decides
// whether the other ways are tried: it sends NOOP and goes on only if that
// is +OK.
func TestPOPAPOP(t *testing.T) {
	t.Parallel()
	expectServers(t, checkPOP, popAPOPCases(), "wonderland", "tanstaaf")
}

// popAPOPCases are the scripted servers of TestPOPAPOP.
func popAPOPCases() []serverCase {
	const stamp = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
	login := conf.Check{Login: "alice", Passwd: "wonderland"}
	// rfc accepts only the digest of RFC 1939's example.
	rfc := popScript(stamp, map[string]string{
		"APOP mrose c4c9334bac560ecc979e58001b3e22fb": "+OK maildrop has 1 message\r\n",
		"APOP": "-ERR permission denied\r\n", "NOOP": "+OK\r\n", "QUIT": "+OK bye\r\n"})
	// afterAPOP answers APOP with apop and NOOP with noop, lists no SASL
	// in CAPA, and accepts USER and PASS.
	afterAPOP := func(apop, noop string) func(net.Conn) {
		return popScript(stamp, map[string]string{
			"APOP": apop, "NOOP": noop, "CAPA": "+OK\r\nUSER\r\n.\r\n",
			"USER": "+OK\r\n", "PASS": "+OK logged in\r\n", "QUIT": "+OK bye\r\n"})
	}
	return []serverCase{
		{"RFC 1939 digest", rfc, conf.Check{Login: "mrose", Passwd: "tanstaaf"}, true, `APOP as "mrose" accepted`},
		{"wrong digest", rfc, conf.Check{Login: "mrose", Passwd: "tanstaafl"}, false,
			`login failed: APOP answer: -ERR "permission denied"`},
		{"APOP refused, then NOOP refused", afterAPOP("-ERR [AUTH] Authentication failed.\r\n", "-ERR Unknown command.\r\n"), login, false,
			`login failed: APOP answer: -ERR "[AUTH] Authentication failed.", NOOP answer: -ERR "Unknown command."`},
		{"APOP refused, NOOP accepted, PASS fallback accepted", afterAPOP("-ERR no\r\n", "+OK\r\n"), login, true, `POP3 login as "alice" accepted`},
		{"garbage after APOP, NOOP refused", afterAPOP("\x16\x03\x01garbage\r\n", "-ERR\r\n"), login, false,
			`login failed: APOP answer: not a POP3 status line (+OK or -ERR): "\x16\x03\x01garbage", NOOP answer: -ERR ""`},
		{"garbage after APOP, NOOP accepted", afterAPOP("\x16\x03\x01garbage\r\n", "+OK\r\n"), login, true, `POP3 login as "alice" accepted`},
		{"APOP accepted, NOOP refused", afterAPOP("+OK\r\n", "-ERR no\r\n"), login, false,
			`login failed: APOP answer: +OK "", NOOP answer: -ERR "no"`},
		{"APOP never answered", afterAPOP(popHold, "+OK\r\n"), login, false, "login failed: timeout after 1.5s waiting for APOP answer"},
		{"NOOP never answered", afterAPOP("+OK\r\n", popHold), login, false, "timeout after 1.5s waiting for NOOP answer"},
		{"closed after APOP", popScript(stamp, map[string]string{}), login, false, "connection closed waiting for APOP answer"},
		// Mail::POP3Client's pattern wants a dot-separated atom on each
		// side of the @; this banner has none, so USER and PASS are used.
		{"not a timestamp", popScript("+OK ready <no-at-sign>\r\n", map[string]string{
			"CAPA": "-ERR\r\n", "USER": "+OK\r\n", "PASS": "+OK\r\n", "QUIT": "+OK\r\n"}), login, true, `POP3 login as "alice" accepted`},
	}
}

// TestPOPCRAMMD5 covers AUTH CRAM-MD5 with scripted servers: the answer of
// RFC 2195's example, and the fall back to USER and PASS when CRAM-MD5
// does not log in.
func TestPOPCRAMMD5(t *testing.T) {
	t.Parallel()
	expectServers(t, checkPOP, popCRAMMD5Cases(), "wonderland", "tanstaaf")
}

// popCRAMMD5Cases are the scripted servers of TestPOPCRAMMD5.
func popCRAMMD5Cases() []serverCase {
	const capa = "+OK\r\nTOP\r\nSASL PLAIN CRAM-MD5 LOGIN\r\nUSER\r\n.\r\n"
	// rfc offers CRAM-MD5 and accepts only the answer to RFC 2195's
	// example challenge.
	rfc := popScript("+OK ready\r\n", map[string]string{
		"CAPA":          capa,
		"AUTH CRAM-MD5": "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
		"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw": "+OK tim's maildrop has 2 messages (320 octets)\r\n",
		"*": "-ERR wrong answer\r\n", "USER": "+OK\r\n", "PASS": "-ERR no\r\n", "QUIT": "+OK\r\n"})
	login := conf.Check{Login: "alice", Passwd: "wonderland"}
	// fallback offers CRAM-MD5 in CAPA, answers AUTH CRAM-MD5 with auth,
	// any other line with "-ERR wrong answer", and accepts USER and PASS.
	fallback := func(auth string) func(net.Conn) {
		return popScript("+OK ready\r\n", map[string]string{
			"CAPA": capa, "AUTH": auth, "*": "-ERR wrong answer\r\n",
			"USER": "+OK\r\n", "PASS": "+OK logged in\r\n", "QUIT": "+OK\r\n"})
	}
	return []serverCase{
		{"RFC 2195 answer", rfc, conf.Check{Login: "tim", Passwd: "tanstaaftanstaaf"}, true, `AUTH CRAM-MD5 as "tim" accepted`},
		{"wrong answer, PASS refused too", rfc, conf.Check{Login: "tim", Passwd: "tanstaaf"}, false,
			`login failed: CRAM-MD5 answer: -ERR "wrong answer", PASS answer: -ERR "no"`},
		{"AUTH refused, PASS fallback", fallback("-ERR not now\r\n"), login, true, `POP3 login as "alice" accepted`},
		{"challenge garbage, PASS fallback", fallback("\xff\xfe garbage\r\n"), login, true, `POP3 login as "alice" accepted`},
		{"challenge not base64, answer refused, PASS fallback", fallback("+ !!not*base64!!\r\n"), login, true, `POP3 login as "alice" accepted`},
		{"challenge never sent", fallback(popHold), login, false, "login failed: timeout after 1.5s waiting for AUTH CRAM-MD5 answer"},
		{"answer never answered", popScript("+OK ready\r\n", map[string]string{
			"CAPA": capa, "AUTH": "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n", "*": popHold}),
			login, false, "timeout after 1.5s waiting for CRAM-MD5 answer"},
		// Without CRAM-MD5 in CAPA, AUTH would close this connection.
		{"not offered", popScript("+OK ready\r\n", map[string]string{
			"CAPA": "+OK\r\nSASL PLAIN LOGIN\r\nX-CRAM-MD5\r\nSASL X-CRAM-MD5\r\n.\r\n", "USER": "+OK\r\n", "PASS": "+OK\r\n", "QUIT": "+OK\r\n"}),
			login, true, `POP3 login as "alice" accepted`},
	}
}

// TestPOPAgreesWithPerl judges the scripted servers of TestPOPAPOP and
// TestPOPCRAMMD5 with the Perl ldirectord's check_pop (Mail::POP3Client)
// too, and wants its verdict to be ours. Those that never answer are
// left out: Perl's alarm counts whole seconds.
func TestPOPAgreesWithPerl(t *testing.T) {
	t.Parallel()
	needPerlLdirectord(t)
	for _, tc := range append(popAPOPCases(), popCRAMMD5Cases()...) {
		if strings.Contains(tc.reason, "timeout") {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			perlAgrees(t, targetAt(serve(t, "tcp4", tc.handle), 15*time.Second, tc.check), tc.up)
		})
	}
}

func needPerlLdirectord(t *testing.T) {
	t.Helper()
	need(t, "perl-base", "perl")
	if _, err := os.Stat("/usr/sbin/ldirectord"); err != nil {
		t.Fatalf("the Perl ldirectord is not installed: install the Debian package ldirectord (%v)", err)
	}
}

// perlAgrees fails the test unless the Perl ldirectord's pop check of tg
// says up as wanted.
func perlAgrees(t *testing.T, tg Target, up bool) {
	t.Helper()
	perl, err := perlPOPVerdict(tg)
	if err != nil {
		t.Fatal(err)
	}
	if perl != up {
		t.Fatalf("Perl ldirectord says up=%v, we want up=%v", perl, up)
	}
}

// perlPOPVerdict is the Perl ldirectord's pop check of tg.
func perlPOPVerdict(tg Target) (bool, error) {
	tg.Check.Service = "pop"
	// The daemon ignores SIGPIPE (ld_init, run_child); perlcheck.pl loads
	// only its functions, and Perl would die writing to a server that
	// has closed the connection.
	return perlVerdict(tg, "PERL5OPT=-Msigtrap=handler,IGNORE,PIPE")
}

// TestDovecotPOPAuth proves APOP and AUTH CRAM-MD5 against a real
// dovecot: one that offers APOP (its greeting carries a timestamp) and
// one that offers only CRAM-MD5 in CAPA. TestDovecot has the one that
// offers neither, where USER and PASS are used.
func TestDovecotPOPAuth(t *testing.T) {
	t.Parallel()
	needPerlLdirectord(t)
	apop := startDovecot(t, "plain apop cram-md5")
	cram := startDovecot(t, "plain cram-md5")
	const timeout = 10 * time.Second
	good := conf.Check{Login: "alice", Passwd: "wonderland"}
	bad := conf.Check{Login: "alice", Passwd: "looking-glass"}
	// perl marks the cases the Perl check judges too: it speaks neither
	// IPv6 nor TLS to a self-signed certificate.
	cases := []struct {
		name   string
		f      Func
		addr   netip.AddrPort
		check  conf.Check
		up     bool
		reason string
		perl   bool
	}{
		{"APOP", checkPOP, loopback(apop.pop3), good, true, `APOP as "alice" accepted`, true},
		{"APOP over TLS", checkPOPS, loopback(apop.pop3s), good, true, `APOP as "alice" accepted`, false},
		{"APOP over IPv6", checkPOP, loopback6(apop.pop3), good, true, `APOP as "alice" accepted`, false},
		{"CRAM-MD5", checkPOP, loopback(cram.pop3), good, true, `AUTH CRAM-MD5 as "alice" accepted`, true},
		{"CRAM-MD5 over TLS", checkPOPS, loopback(cram.pop3s), good, true, `AUTH CRAM-MD5 as "alice" accepted`, false},
		// dovecot refuses NOOP before login, so after a refused APOP the
		// login fails there, as with ldirectord.
		{"APOP wrong passwd", checkPOP, loopback(apop.pop3), bad, false,
			`login failed: APOP answer: -ERR "[AUTH] Authentication failed.", NOOP answer: -ERR "Unknown command."`, true},
		{"CRAM-MD5 wrong passwd", checkPOP, loopback(cram.pop3), bad, false,
			`login failed: CRAM-MD5 answer: -ERR "[AUTH] Authentication failed.", PASS answer: -ERR "[AUTH] Authentication failed."`, true},
	}
	// After a failed login dovecot delays every login from the address,
	// more after each failure: the good logins run first, ours and
	// Perl's, then our failures, then Perl's, which fail twice as often
	// (check_pop logs in again after the constructor's login failed).
	results := make([]Result, len(cases))
	perl := make([]verdicts, len(cases))
	for _, phase := range []struct{ up, perl bool }{{true, true}, {false, false}, {false, true}} {
		var wg sync.WaitGroup
		for i, tc := range cases {
			if tc.up != phase.up {
				continue
			}
			tg := targetAt(tc.addr, timeout, tc.check)
			if phase.up || !phase.perl {
				wg.Go(func() { results[i] = runCheck(tc.f, tg) })
			}
			if tc.perl && phase.perl {
				wg.Go(func() { perl[i].perl, perl[i].err = perlPOPVerdict(tg) })
			}
		}
		wg.Wait()
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantVerdict(t, targetAt(tc.addr, timeout, tc.check), results[i], tc.up, tc.reason)
			noSecrets(t, results[i], "looking-glass", "wonderland")
			if !tc.perl {
				return
			}
			if perl[i].err != nil {
				t.Fatal(perl[i].err)
			}
			if perl[i].perl != tc.up {
				t.Fatalf("Perl ldirectord says up=%v, we want up=%v", perl[i].perl, tc.up)
			}
		})
	}
	// The greeting is what makes the check try APOP: dovecot puts a
	// timestamp in it only when APOP is on.
	t.Run("greetings", func(t *testing.T) {
		for _, p := range []struct {
			port uint16
			apop bool
		}{{apop.pop3, true}, {cram.pop3, false}} {
			c, err := net.DialTimeout("tcp", loopback(p.port).String(), timeout)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(timeout))
			banner, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := apopTimestamp(banner) != ""; got != p.apop {
				t.Errorf("greeting %q: timestamp found %v, want %v", banner, got, p.apop)
			}
		}
	})
}

// FuzzPOPReply checks the parsers of the lines a POP3 server sends: the
// status line, the greeting's APOP timestamp, and the CRAM-MD5 challenge.
func FuzzPOPReply(f *testing.F) {
	for _, s := range []string{"+OK ready", "-ERR no", "+OK", "-ERR", "+OKAY", "* OK",
		"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>", "+OK <a@b> <c.d@e.f>", "+OK <a.@b>", "+OK <<x@y>>",
		"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", "QQ==QUJD", "QUJDQ", "QU JD\r", "!!"} {
		f.Add(s)
	}
	atom := regexp.MustCompile("^" + popAtom + "$")
	f.Fuzz(func(t *testing.T, line string) {
		if ok, text, err := parsePOPReply(line); err == nil {
			if ok != strings.HasPrefix(line, "+OK") {
				t.Errorf("%q: ok=%v", line, ok)
			}
			if !strings.HasSuffix(line, text) {
				t.Errorf("%q: text %q is not its tail", line, text)
			}
		}

		if ts := apopTimestamp(line); ts != "" {
			inner, ok := strings.CutPrefix(ts, "<")
			inner, ok2 := strings.CutSuffix(inner, ">")
			local, domain, ok3 := strings.Cut(inner, "@")
			if !ok || !ok2 || !ok3 || !strings.Contains(line, ts) {
				t.Fatalf("%q: timestamp %q", line, ts)
			}
			for _, part := range append(strings.Split(local, "."), strings.Split(domain, ".")...) {
				if !atom.MatchString(part) {
					t.Errorf("%q: timestamp %q has the part %q, not an atom", line, ts, part)
				}
			}
		}

		// The challenge decodes as the standard decoder decodes the
		// alphabet's characters before the first "=", whatever else the
		// line holds.
		got := perlBase64(line)
		var clean []byte
		for _, ch := range []byte(line) {
			if ch == '=' {
				break
			}
			if bytes.IndexByte([]byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"), ch) >= 0 {
				clean = append(clean, ch)
			}
		}
		if len(got) != len(clean)*3/4 {
			t.Fatalf("%q: decoded %d bytes from %d characters", line, len(got), len(clean))
		}
		full := clean[:len(clean)/4*4]
		want, err := base64.StdEncoding.DecodeString(string(full))
		if err != nil || !bytes.HasPrefix(got, want) {
			t.Errorf("%q: decoded %x, want it to begin with %x (%v)", line, got, want, err)
		}
	})
}

// TestPOPParsersAgreeWithPerl runs the greeting's timestamp pattern and
// the challenge's base64 decoding of Mail::POP3Client and MIME::Base64
// on the same lines as ours.
func TestPOPParsersAgreeWithPerl(t *testing.T) {
	t.Parallel()
	need(t, "perl-base", "perl")
	lines := []string{
		"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
		"+OK <a@b> <c.d@e.f>", "+OK <a.@b>", "+OK <<x@y>>", "+OK <x@y", "+OK <x@@y>", "+OK <ä@b>",
		"+OK <12f.1.675a1b2c.kq7/PA+Ayx8=@mail-1_x.example>", "+OK ready.",
		"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
		"QQ==QUJD", "QUJDQ", "QUJDQU", "QUJDQUI", "QU JD\r", "!!", "QUJD=QUJD", "Q=", "QU=Z", "//8=", "\xffQUJD\x80",
	}
	const script = `use MIME::Base64;
my $atom = qr([-_\w!#$%&'*+/=?^` + "`" + `{|}~]+);
for (@ARGV) {
	my $ts = /(<$atom(?:\.$atom)*\@$atom(?:\.$atom)*>)/o ? $1 : "";
	print unpack("H*", $ts), " ", unpack("H*", decode_base64($_)), "\n";
}`
	out, err := exec.Command("perl", append([]string{"-e", script}, lines...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("perl: %v: %s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(lines) {
		t.Fatalf("perl printed %d lines for %d: %s", len(got), len(lines), out)
	}
	for i, line := range lines {
		want := hex.EncodeToString([]byte(apopTimestamp(line))) + " " + hex.EncodeToString(perlBase64(line))
		if got[i] != want {
			t.Errorf("%q: Perl says %s, we say %s", line, got[i], want)
		}
	}
}
