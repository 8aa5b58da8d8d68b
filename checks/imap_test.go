package checks

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// dovecotPorts are the listeners of a test's own dovecot.
type dovecotPorts struct{ imap, imaps, pop3, pop3s uint16 }

// startDovecot runs dovecot (Debian dovecot-imapd, dovecot-pop3d) on
// loopback with its own configuration, one user "alice" with password
// "wonderland", a TLS certificate of its own, and the SASL mechanisms
// given ("plain", or "plain apop cram-md5": with apop, the POP3 greeting
// carries a timestamp).
func startDovecot(t *testing.T, mechanisms string) dovecotPorts {
	t.Helper()
	bin := need(t, "dovecot-imapd dovecot-pop3d", "dovecot")
	for p, pkg := range map[string]string{"/usr/lib/dovecot/imap": "dovecot-imapd", "/usr/lib/dovecot/pop3": "dovecot-pop3d"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing: install the Debian package %s", p, pkg)
		}
	}
	dir := shortTempDir(t, "dv")
	cert, key := writeSelfSigned(t, dir)
	writeFile(t, filepath.Join(dir, "passwd"), "alice:{PLAIN}wonderland::::::nodelay\n")
	// The mail process runs as nobody and opens the mailbox on login: a
	// check that says NOOP after APOP, as ldirectord's does, is answered
	// -ERR when it cannot.
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	for _, sub := range []string{"mail", "home"} {
		d := filepath.Join(dir, sub)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	// freePort may hand out a port again once it is closed, and dovecot
	// refuses a configuration that names one twice.
	taken := map[uint16]bool{}
	port := func() uint16 {
		for {
			if p := freePort(t); !taken[p] {
				taken[p] = true
				return p
			}
		}
	}
	// A port free when asked may be taken by another test before dovecot
	// binds it: then dovecot exits, and is started again on new ports.
	for attempt := 1; ; attempt++ {
		p := dovecotPorts{port(), port(), port(), port()}
		cfg := fmt.Sprintf(`
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = /dev/stderr
protocols = imap pop3
listen = 127.0.0.1, ::1
ssl = yes
ssl_cert = <%[2]s
ssl_key = <%[3]s
disable_plaintext_auth = no
auth_mechanisms = %[8]s
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8 ::1/128
mail_location = maildir:%[1]s/mail/%%u
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%[1]s/home/%%u
}
service imap-login {
  inet_listener imap {
    port = %[4]d
  }
  inet_listener imaps {
    port = %[5]d
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = %[6]d
  }
  inet_listener pop3s {
    port = %[7]d
    ssl = yes
  }
}
service anvil {
  chroot =
}
`, dir, cert, key, p.imap, p.imaps, p.pop3, p.pop3s, mechanisms)
		cfgFile := filepath.Join(dir, "dovecot.conf")
		writeFile(t, cfgFile, cfg)
		d := startDaemon(t, bin, "-F", "-c", cfgFile)
		// dovecot takes seconds to stop on SIGTERM; its state is thrown away.
		d.stop = syscall.SIGKILL
		addrs := []netip.AddrPort{loopback(p.imap), loopback(p.imaps), loopback(p.pop3), loopback(p.pop3s)}
		if attempt < 3 && exitedOnBusyPort(d, 30*time.Second, addrs) {
			continue
		}
		waitListening(t, d, 30*time.Second, addrs...)
		return p
	}
}

// exitedOnBusyPort waits until the daemon listens on every address, and
// says whether it exited first because one was in use.
func exitedOnBusyPort(d *daemon, within time.Duration, addrs []netip.AddrPort) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return strings.Contains(d.Output(), "Address already in use")
		default:
		}
		listening := true
		for _, a := range addrs {
			c, err := net.DialTimeout("tcp", a.String(), time.Second)
			if err != nil {
				listening = false
				break
			}
			c.Close()
		}
		if listening {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// TestDovecot proves imap, imaps, pop and pops against a real dovecot:
// greeting only, a good login, a bad login, and TLS spoken to a plain port.
func TestDovecot(t *testing.T) {
	// Parallel with the other daemons: their start-ups overlap.
	t.Parallel()
	p := startDovecot(t, "plain")
	const timeout = 10 * time.Second
	good := conf.Check{Login: "alice", Passwd: "wonderland"}
	bad := conf.Check{Login: "alice", Passwd: "looking-glass"}
	cases := []portCase{
		{"imap greeting", checkIMAP, p.imap, conf.Check{}, true, "IMAP greeting OK"},
		{"imap login", checkIMAP, p.imap, good, true, `login as "alice" accepted`},
		{"imaps greeting", checkIMAPS, p.imaps, conf.Check{}, true, "IMAP greeting OK"},
		{"imaps login", checkIMAPS, p.imaps, good, true, "accepted"},
		{"imaps to plain port", checkIMAPS, p.imap, good, false, "TLS handshake"},
		{"pop greeting", checkPOP, p.pop3, conf.Check{}, true, "POP3 greeting +OK"},
		{"pop login", checkPOP, p.pop3, good, true, `login as "alice" accepted`},
		{"pops greeting", checkPOPS, p.pop3s, conf.Check{}, true, "+OK"},
		{"pops login", checkPOPS, p.pop3s, good, true, "accepted"},
		{"pops to plain port", checkPOPS, p.pop3, good, false, "TLS handshake"},
		{"imap bad login", checkIMAP, p.imap, bad, false, "login failed: NO"},
		{"imaps bad login", checkIMAPS, p.imaps, bad, false, "login failed"},
		{"pop bad login", checkPOP, p.pop3, bad, false, "login failed: PASS answer: -ERR"},
		{"pops bad login", checkPOPS, p.pop3s, bad, false, "login failed"},
	}
	t.Run("IPv6", func(t *testing.T) {
		for _, c := range []struct {
			f    Func
			port uint16
		}{{checkIMAP, p.imap}, {checkIMAPS, p.imaps}, {checkPOP, p.pop3}, {checkPOPS, p.pop3s}} {
			expect(t, c.f, targetAt(loopback6(c.port), timeout, good), true, "accepted")
		}
	})
	// A TLS port waits for a ClientHello and never greets a plain client.
	t.Run("imap to TLS port", func(t *testing.T) {
		expect(t, checkIMAP, targetAt(loopback(p.imaps), testTimeout, good), false, "timeout after 1.5s waiting for banner")
	})
	// The checks run at once, the good ones first, and each verdict is
	// asserted in its own subtest: after a failed login dovecot delays
	// every login from the address, more after each failure, so failures
	// one after another would take seconds each.
	results := make([]Result, len(cases))
	for _, up := range []bool{true, false} {
		var wg sync.WaitGroup
		for i, tc := range cases {
			if tc.up != up {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = runCheck(tc.f, targetAt(loopback(tc.port), timeout, tc.check))
			}()
		}
		wg.Wait()
	}
	t.Run("group", func(t *testing.T) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantVerdict(t, targetAt(loopback(tc.port), timeout, tc.check), results[i], tc.up, tc.reason)
				noSecrets(t, results[i], "looking-glass", "wonderland")
			})
		}
	})
}

// TestIMAPFailures covers the answers a real dovecot never gives, with a
// scripted server.
func TestIMAPFailures(t *testing.T) {
	t.Parallel()
	login := conf.Check{Login: "alice", Passwd: "wonderland"}
	cases := []serverCase{
		{"never answers", silent, conf.Check{}, false, "timeout after 1.5s waiting for banner"},
		{"too slow", late("* OK late\r\n"), conf.Check{}, false, "timeout after 1.5s waiting for banner"},
		{"garbage", sayThenHold("\x16\x03\x01garbage\r\n"), conf.Check{}, false, "not an IMAP response"},
		{"bye", sayThenHold("* BYE too many connections\r\n"), conf.Check{}, false, "IMAP greeting BYE"},
		{"login never answered", sayThenHold("* OK ready\r\n"), login, false, "timeout after 1.5s waiting for LOGIN answer"},
		{"login refused", func(c net.Conn) {
			io.WriteString(c, "* OK ready\r\n")
			buf := make([]byte, 512)
			c.Read(buf)
			io.WriteString(c, "* CAPABILITY IMAP4rev1\r\na1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
			io.Copy(io.Discard, c)
		}, login, false, "login failed: NO"},
	}
	expectServers(t, checkIMAP, cases)
	expectRefused(t, checkIMAPS, login, "connect: connection refused")
	t.Run("imaps silent during handshake", func(t *testing.T) {
		t.Parallel()
		ap := serve(t, "tcp4", silent)
		expect(t, checkIMAPS, targetAt(ap, testTimeout, login), false, "timeout after 1.5s during TLS handshake")
	})
}

func FuzzIMAPReply(f *testing.F) {
	for _, s := range []string{"* OK ready", "a1 OK done", "a1 NO nope", "* BYE", "+ go on", "a1", "* "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		status, _, tagged, err := parseIMAPReply(line, "a1")
		if err != nil {
			return
		}
		if status == "" {
			t.Errorf("%q: empty status without error", line)
		}
		if tagged && status != "OK" && status != "NO" && status != "BAD" {
			t.Errorf("%q: tagged status %q", line, status)
		}
		if s, _, err := parseIMAPGreeting(line); err == nil && s != "OK" && s != "PREAUTH" && s != "BYE" {
			t.Errorf("%q: greeting status %q", line, s)
		}
	})
}
