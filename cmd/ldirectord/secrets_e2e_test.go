package main

import (
	"bufio"
	be "encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The passwd and the secret of the secrets test: distinctive, so that no
// other text holds them by chance.
const (
	testPasswd = "Pw-zq9X7-never-print"
	testSecret = "Rs-k4Y2-never-print"
)

// lineRefuser serves a line protocol (ftp, pop, imap): it greets, and
// refuses every command with the command quoted back, the password
// included, as a hostile or careless server would.
func lineRefuser(t *testing.T, greeting string, refuse func(line string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "%s\r\n", greeting)
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					fmt.Fprintf(c, "%s\r\n", refuse(strings.TrimRight(line, "\r\n")))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// pgsqlRefuser asks for the password in clear and refuses it, quoting it.
func pgsqlRefuser(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	msg := func(kind byte, body []byte) []byte {
		b := []byte{kind, 0, 0, 0, 0}
		be.BigEndian.PutUint32(b[1:], uint32(len(body)+4))
		return append(b, body...)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var n uint32
				if be.Read(c, be.BigEndian, &n) != nil || n < 8 || n > 10000 {
					return
				}
				start := make([]byte, n-4)
				if _, err := io.ReadFull(c, start); err != nil {
					return
				}
				if be.BigEndian.Uint32(start) == 80877103 { // SSLRequest: no
					c.Write([]byte("N"))
					if be.Read(c, be.BigEndian, &n) != nil || n < 8 || n > 10000 {
						return
					}
					if _, err := io.ReadFull(c, make([]byte, n-4)); err != nil {
						return
					}
				}
				c.Write(msg('R', []byte{0, 0, 0, 3})) // AuthenticationCleartextPassword
				head := make([]byte, 5)
				if _, err := io.ReadFull(c, head); err != nil {
					return
				}
				pw := make([]byte, be.BigEndian.Uint32(head[1:])-4)
				if _, err := io.ReadFull(c, pw); err != nil {
					return
				}
				text := "password " + strings.TrimRight(string(pw), "\x00") + " refused"
				c.Write(msg('E', []byte("SFATAL\x00C28P01\x00M"+text+"\x00\x00")))
			}()
		}
	}()
	return ln.Addr().String()
}

// refuser accepts and closes at once (mysql, ldap: no login happens).
func refuser(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// udpEcho sends every datagram back: a radius answer with a wrong
// authenticator.
func udpEcho(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], addr)
		}
	}()
	return pc.LocalAddr().String()
}

// The configured passwd and secret appear in no output of ours: the log
// file, --check, status, status --json, probe and a metrics scrape, with
// ftp, pop, imap, pgsql servers that quote the password back in their
// refusal, mysql and ldap servers that hang up, and a radius server that
// answers wrongly. A panic's output is not tried: the daemon has no hook
// that makes a check panic (actors' tests make probers panic in-process,
// and the panic value is the test's own). About 10 s.
func TestE2ESecretsNeverPrinted(t *testing.T) {
	e := newEnv(t)
	metricsAddr := freeLoopback(t)
	ftp := lineRefuser(t, "220 ready", func(l string) string { return "530 no: " + l })
	pop := lineRefuser(t, "+OK ready", func(l string) string { return "-ERR no: " + l })
	imap := lineRefuser(t, "* OK ready", func(l string) string {
		tag, _, _ := strings.Cut(l, " ")
		return tag + " NO no: " + l
	})
	pg, my, ldap, radius := pgsqlRefuser(t), refuser(t), refuser(t), udpEcho(t)
	block := func(addr, service, proto string, extra ...string) string {
		host, port, _ := net.SplitHostPort(addr)
		var b strings.Builder
		fmt.Fprintf(&b, "virtual = 10.9.8.%s:%s\n\treal = %s:%s masq 1\n\tchecktype = negotiate\n\tservice = %s\n\tprotocol = %s\n",
			strings.TrimPrefix(host, "127.0.0."), port, host, port, service, proto)
		for _, x := range extra {
			b.WriteString("\t" + x + "\n")
		}
		return b.String()
	}
	login := []string{`login = "tester"`, fmt.Sprintf("passwd = %q", testPasswd)}
	text := fastGlobals + "metrics = " + metricsAddr + "\n" +
		block(ftp, "ftp", "tcp", append(login, `request = "file.txt"`)...) +
		block(pop, "pop", "tcp", login...) +
		block(imap, "imap", "tcp", login...) +
		block(pg, "pgsql", "tcp", append(login, `database = "db"`, `request = "SELECT 1"`)...) +
		block(my, "mysql", "tcp", append(login, `database = "db"`, `request = "SELECT 1"`)...) +
		block(ldap, "ldap", "tcp", append(login, `request = "dc=example,dc=org"`)...) +
		block(radius, "radius", "udp", append(login, fmt.Sprintf("secret = %q", testSecret))...)
	// Every virtual service has its own address: two on one would clash.
	e.config(text)
	outputs := map[string]string{}
	out, errOut, code := e.ld("--check", "l.cf")
	if code != 0 {
		t.Fatalf("--check: exit %d\n%s%s", code, out, errOut)
	}
	outputs["--check"] = out + errOut
	e.mustLd("l.cf", "start")
	// The checks ran and failed, each of them, with a reason: in status.
	for _, service := range []string{"ftp", "pop", "imap", "pgsql", "mysql", "ldap", "radius"} {
		e.waitText("the "+service+" check's refusal in the log", e.log, func(s string) bool {
			return strings.Count(s, "real server down") >= 7 || strings.Contains(s, service)
		})
	}
	time.Sleep(3 * time.Second) // a few rounds of checks
	out, errOut, _ = e.ld("l.cf", "status")
	outputs["status"] = out + errOut
	out, errOut, _ = e.ld("l.cf", "status", "--json")
	outputs["status --json"] = out + errOut
	out, errOut, _ = e.ld("l.cf", "probe")
	outputs["probe"] = out + errOut
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	outputs["metrics"] = string(body)
	e.mustLd("l.cf", "stop")
	outputs["log"] = e.log()

	// The servers did hear the password, and the outputs do say why the
	// checks failed: the test tested.
	if !strings.Contains(outputs["probe"], "no:") && !strings.Contains(outputs["probe"], "refused") {
		t.Errorf("probe does not show the servers' refusals:\n%s", outputs["probe"])
	}
	for what, text := range outputs {
		for _, s := range []string{testPasswd, testSecret} {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q:\n%s", what, s, text)
			}
		}
		t.Logf("%s: %d bytes, no secret", what, len(text))
	}
}
