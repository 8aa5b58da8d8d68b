package checks

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// startFreeRADIUS runs FreeRADIUS (Debian freeradius) on loopback UDP with
// a minimal configuration of its own: client 127.0.0.1 with secret
// sesame, user alice with password wonderland checked by PAP.
func startFreeRADIUS(t *testing.T) uint16 {
	t.Helper()
	bin := need(t, "freeradius", "freeradius")
	dir := shortTempDir(t, "fr")
	port := freeUDPPort(t)
	writeFile(t, filepath.Join(dir, "dictionary"), "")
	writeFile(t, filepath.Join(dir, "users"), "alice Cleartext-Password := \"wonderland\"\n")
	writeFile(t, filepath.Join(dir, "radiusd.conf"), fmt.Sprintf(`prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = %[1]s
sbindir = /usr/sbin
logdir = %[1]s
raddbdir = %[1]s
radacctdir = %[1]s
name = freeradius
confdir = %[1]s
run_dir = %[1]s
db_dir = %[1]s
libdir = /usr/lib/freeradius
pidfile = %[1]s/radiusd.pid
max_request_time = 5
cleanup_delay = 1
max_requests = 1024
hostname_lookups = no
log {
	destination = stderr
}
client loopback {
	ipaddr = 127.0.0.1
	secret = sesame
}
client loopback6 {
	ipv6addr = ::1
	secret = sesame
}
modules {
	pap {
	}
	files {
		filename = %[1]s/users
	}
}
server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = %[2]d
	}
	listen {
		type = auth
		ipv6addr = ::1
		port = %[2]d
	}
	authorize {
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
}
`, dir, port))
	d := startDaemon(t, bin, "-f", "-d", dir, "-n", "radiusd", "-l", "stdout")
	waitOutput(t, d, 30*time.Second, "Ready to process requests")
	return port
}

// TestFreeRADIUS proves the radius check against a real FreeRADIUS.
func TestFreeRADIUS(t *testing.T) {
	// Parallel with the other daemons: their start-ups overlap.
	t.Parallel()
	port := startFreeRADIUS(t)
	good := conf.Check{Service: "radius", Login: "alice", Passwd: "wonderland", Secret: "sesame"}
	expectDaemon(t, checkRADIUS, conf.UDP, port, []daemonCase{
		{"accept", good, true, `Access-Accept for "alice"`},
		{"wrong passwd", with(good, func(c *conf.Check) { c.Passwd = "looking-glass" }), false, `login failed: Access-Reject for "alice"`},
		{"unknown user", with(good, func(c *conf.Check) { c.Login = "bob" }), false, "Access-Reject"},
		{"wrong secret", with(good, func(c *conf.Check) { c.Secret = "open-sesame" }), false, "not authenticated by the secret"},
		{"no secret", with(good, func(c *conf.Check) { c.Secret = "" }), false, "needs a secret"},
	}, "looking-glass", "wonderland", "sesame")
}

// TestRADIUSFailures covers servers that are not RADIUS or not there.
func TestRADIUSFailures(t *testing.T) {
	t.Parallel()
	check := conf.Check{Service: "radius", Login: "alice", Passwd: "wonderland", Secret: "sesame"}
	expectUDPServers(t, checkRADIUS, []udpCase{
		{"never answers", func([]byte) []byte { return nil }, check, false, "timeout after 1.5s waiting for an answer"},
		{"garbage", func([]byte) []byte { return []byte("\x02garbage") }, check, false, "no RADIUS answer"},
		{"echo", func(b []byte) []byte { return b }, check, false, "not authenticated by the secret"},
	}, "wonderland", "sesame")
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		expect(t, checkRADIUS, targetAt(loopback(freeUDPPort(t)), testTimeout, check), false, "connection refused")
	})
}
