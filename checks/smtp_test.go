package checks

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// exim starts an Exim SMTP daemon (Debian exim4-daemon-light) on 127.0.0.1
// and ::1 with acl added to its ACL settings (e.g. to refuse connections),
// and returns its port.
func exim(t *testing.T, acl string) uint16 {
	t.Helper()
	bin := need(t, "exim4-daemon-light", "exim4")
	dir := shortTempDir(t, "ex")
	port := freePort(t)
	for _, d := range []string{"spool", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "exim.conf")
	writeFile(t, cfg, strings.NewReplacer("DIR", dir, "PORT", strconv.Itoa(int(port))).Replace(`
primary_hostname = mx.test.invalid
daemon_smtp_ports = PORT
local_interfaces = <; 127.0.0.1 ; ::1
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
pid_file_path = DIR/exim.pid
notifier_socket = DIR/notifier
keep_environment =
tls_advertise_hosts =
exim_user = root
exim_group = root
never_users =
acl_smtp_rcpt = deny_all
`+acl+`
begin acl
deny_all:
  deny
deny_ehlo:
  deny condition = ${if match{$smtp_command}{\N^(?i)ehlo\N}}
  accept
defer_ehlo:
  defer condition = ${if match{$smtp_command}{\N^(?i)ehlo\N}}
  accept
begin routers
begin transports
`))
	d := startDaemon(t, bin, "-bdf", "-C", cfg)
	d.stop = syscall.SIGKILL
	waitListening(t, d, 30*time.Second, loopback(port))
	return port
}

func TestSMTP(t *testing.T) {
	t.Parallel()
	ok := exim(t, "")
	noConnect := exim(t, "acl_smtp_connect = deny_all")
	noHelo := exim(t, "acl_smtp_helo = deny_all")
	noEhlo := exim(t, "acl_smtp_helo = deny_ehlo")
	laterEhlo := exim(t, "acl_smtp_helo = defer_ehlo")
	slow := serve(t, "tcp4", late("220 late.test.invalid ESMTP\r\n"))
	cases := []struct {
		name, service string
		addr          netip.AddrPort
		up            bool
		reason        string
	}{
		{"exim", "smtp", loopback(ok), true, "banner and EHLO accepted"},
		{"exim submission", "submission", loopback(ok), true, "banner and EHLO accepted"},
		{"exim ipv6", "smtp", loopback6(ok), true, "banner and EHLO accepted"},
		{"connection refused by ACL", "smtp", loopback(noConnect), false, "banner: 550"},
		{"EHLO and HELO refused", "submission", loopback(noHelo), false, `HELO reply (EHLO refused with 550): 550 "Administrative prohibition"`},
		{"EHLO refused, HELO accepted", "smtp", loopback(noEhlo), true, "banner and HELO accepted (EHLO refused with 550)"},
		{"EHLO deferred: no HELO", "smtp", loopback(laterEhlo), false, "EHLO reply: 451"},
		{"refused", "smtp", refused(t, "tcp4"), false, "connect: connection refused"},
		{"accepts but never answers", "smtp", serve(t, "tcp4", silent), false, "timeout after 2s waiting for banner"},
		{"answers too slowly", "smtp", slow, false, "timeout after 2s waiting for banner"},
		{"garbage", "smtp", serve(t, "tcp4", garbage), false, "banner: not SMTP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, target(c.addr, conf.CheckNegotiate, c.service), c.up, c.reason)
		})
	}
}
