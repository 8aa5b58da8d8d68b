package checks

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// startSIPp runs SIPp (Debian sip-tester) on loopback as a server that
// answers OPTIONS with status ("200 OK", "486 Busy Here") over transport
// "u1" (UDP) or "t1" (TCP).
func startSIPp(t *testing.T, transport, status string) uint16 {
	t.Helper()
	bin := need(t, "sip-tester", "sipp")
	tmpl, err := os.ReadFile("testdata/sipp_options_uas.xml")
	if err != nil {
		t.Fatal(err)
	}
	dir := shortTempDir(t, "sp")
	scenario := filepath.Join(dir, "uas.xml")
	writeFile(t, scenario, strings.Replace(string(tmpl), "SIP/2.0 STATUS", "SIP/2.0 "+status, 1))
	var port uint16
	if transport == "u1" {
		port = freeUDPPort(t)
	} else {
		port = freePort(t)
	}
	d := startDaemon(t, bin, "-sf", scenario,
		"-i", "127.0.0.1", "-p", fmt.Sprint(port), "-t", transport, "-nostdin", "-trace_err",
		"-error_file", filepath.Join(dir, "errors.log"))
	if transport == "u1" {
		waitUDPBound(t, d, 30*time.Second, port)
	} else {
		waitListening(t, d, 30*time.Second, loopback(port))
	}
	return port
}

// TestSIPp proves the sip check against SIPp answering OPTIONS, over UDP
// and TCP, with 200 OK and with a refusal.
func TestSIPp(t *testing.T) {
	// Parallel with the other daemons: their start-ups overlap.
	t.Parallel()
	const timeout = 5 * time.Second
	cases := []struct {
		name      string
		transport string
		protocol  conf.Protocol
		status    string
		up        bool
		reason    string
	}{
		{"udp 200", "u1", conf.UDP, "200 OK", true, `OPTIONS answered 200 "OK"`},
		{"tcp 200", "t1", conf.TCP, "200 OK", true, `OPTIONS answered 200 "OK"`},
		{"udp busy", "u1", conf.UDP, "486 Busy Here", false, `OPTIONS answered 486 "Busy Here", want 200`},
		{"tcp unavailable", "t1", conf.TCP, "503 Service Unavailable", false, "OPTIONS answered 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := startSIPp(t, tc.transport, tc.status)
			tg := targetAt(loopback(port), timeout, conf.Check{Service: "sip", Login: "health@example.org"})
			tg.Protocol = tc.protocol
			expect(t, checkSIP, tg, tc.up, tc.reason)
		})
	}
}

// TestSIPFailures covers servers that are not SIP or not there, with
// scripted servers; the default login is checked on the wire.
func TestSIPFailures(t *testing.T) {
	t.Parallel()
	t.Run("default login", func(t *testing.T) {
		t.Parallel()
		got := make(chan string, 1)
		ap := serveUDP(t, "udp4", func(b []byte) []byte {
			got <- string(b)
			return []byte("SIP/2.0 200 OK\r\n\r\n")
		})
		tg := targetAt(ap, testTimeout, conf.Check{Service: "sip"})
		tg.Protocol = conf.UDP
		expect(t, checkSIP, tg, true, "200")
		req := <-got
		want := "OPTIONS sip:ldirectord@" + hostname() + " SIP/2.0\r\n"
		if !strings.HasPrefix(req, want) || !strings.Contains(req, "\r\nVia: SIP/2.0/UDP 127.0.0.1:") {
			t.Errorf("request %q, want it to start with %q and have a UDP Via", req, want)
		}
	})
	sip := conf.Check{Login: "a@b"}
	expectUDPServers(t, checkSIP, []udpCase{
		{"udp never answers", func([]byte) []byte { return nil }, sip, false, "timeout after 1.5s waiting for the OPTIONS answer"},
		{"udp garbage", func([]byte) []byte { return []byte("\x00\x01HTTP/1.1 200 OK\r\n") }, sip, false, "not a SIP answer"},
		{"udp no code", func([]byte) []byte { return []byte("SIP/2.0 OK\r\n") }, sip, false, "without a status code"},
	})
	tcp := []serverCase{
		{"tcp never answers", silent, sip, false, "timeout after 1.5s waiting for the OPTIONS answer"},
		{"tcp too slow", late("SIP/2.0 200 OK\r\n\r\n"), sip, false, "timeout after 1.5s"},
		{"tcp garbage", sayThenHold("\xff\xfe garbage\r\n"), sip, false, "not a SIP answer"},
		{"tcp closes", func(net.Conn) {}, sip, false, "reading the OPTIONS answer"},
	}
	expectServers(t, checkSIP, tcp)
	t.Run("udp refused", func(t *testing.T) {
		t.Parallel()
		tg := targetAt(loopback(freeUDPPort(t)), testTimeout, sip)
		tg.Protocol = conf.UDP
		expect(t, checkSIP, tg, false, "connection refused")
	})
	expectRefused(t, checkSIP, sip, "connect: connection refused")
}

func FuzzSIPStatus(f *testing.F) {
	for _, s := range []string{"SIP/2.0 200 OK\r\n", "SIP/2.0 486 Busy Here\r\nVia: x\r\n", "SIP/2.0 99", "HTTP/1.1 200 OK", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, _, err := parseSIPStatus(b)
		if err != nil {
			return
		}
		if code < 100 || code > 999 || !strings.HasPrefix(string(b), "SIP/2.0 ") {
			t.Errorf("%q: code %d accepted", b, code)
		}
	})
}
