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
)

// vsftpd starts an anonymous-only vsftpd on 127.0.0.1 serving
// welcome.msg. It takes as anonymous password only ldirectord's default,
// ldirectord@<hostname>, so a passing check proves that default is sent.
func vsftpd(t *testing.T) netip.AddrPort {
	t.Helper()
	dir := shortTempDir(t, "ft")
	root := filepath.Join(dir, "root")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{root, empty} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "welcome.msg"), "Welcome to the test FTP\n")
	writeFile(t, filepath.Join(dir, "emails"), "ldirectord@"+hostname()+"\n")
	port := freePort(t)
	cfg := filepath.Join(dir, "vsftpd.conf")
	writeFile(t, cfg, strings.NewReplacer("DIR", dir, "PORT", strconv.Itoa(int(port))).Replace(`listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=PORT
background=NO
anonymous_enable=YES
anon_root=DIR/root
secure_email_list_enable=YES
email_password_file=DIR/emails
local_enable=NO
write_enable=NO
seccomp_sandbox=NO
pasv_enable=YES
pasv_address=127.0.0.1
xferlog_enable=NO
dirmessage_enable=NO
connect_from_port_20=NO
secure_chroot_dir=DIR/empty
`))
	d := startDaemon(t, need(t, "vsftpd", "vsftpd"), cfg)
	d.stop = syscall.SIGKILL
	waitListening(t, d, 30*time.Second, loopback(port))
	return loopback(port)
}

func TestFTP(t *testing.T) {
	t.Parallel()
	addr := vsftpd(t)
	slow := serve(t, "tcp4", late("220 late FTP\r\n"))
	badLogin := negotiate(addr, "ftp", "/welcome.msg", "Welcome")
	badLogin.Check.Login = "bob"
	badPasswd := negotiate(addr, "ftp", "/welcome.msg", "Welcome")
	badPasswd.Check.Passwd = "someone@else"

	cases := []struct {
		name   string
		tg     Target
		up     bool
		reason string
	}{
		{"anonymous RETR matches", negotiate(addr, "ftp", "/welcome.msg", "^Welcome.*FTP$"), true, "fetched 24 bytes of /welcome.msg"},
		{"relative request", negotiate(addr, "ftp", "welcome.msg", "test"), true, "fetched 24 bytes"},
		{"empty receive", negotiate(addr, "ftp", "/welcome.msg", ""), true, "fetched"},
		{"wrong content", negotiate(addr, "ftp", "/welcome.msg", "Goodbye"), false, "receive /Goodbye/ not found in 24 bytes of /welcome.msg"},
		{"no request", negotiate(addr, "ftp", "", ""), false, "no request names the file to fetch"},
		{"missing file", negotiate(addr, "ftp", "/missing.txt", "Welcome"), false, "RETR /missing.txt: 550"},
		{"failed login", badLogin, false, "login as bob: This FTP server is anonymous only"},
		{"wrong anonymous password", badPasswd, false, "login as anonymous: 530"},
		{"refused", negotiate(refused(t, "tcp4"), "ftp", "/welcome.msg", "W"), false, "connect: connection refused"},
		{"accepts but never answers", negotiate(serve(t, "tcp4", silent), "ftp", "/welcome.msg", "W"), false, "timeout after 2s waiting for banner"},
		{"answers too slowly", negotiate(slow, "ftp", "/welcome.msg", "W"), false, "timeout after 2s waiting for banner"},
		{"garbage", negotiate(serve(t, "tcp4", garbage), "ftp", "/welcome.msg", "W"), false, "banner: not FTP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := expect(t, Run, c.tg, c.up, c.reason)
			if strings.Contains(r.Reason, "ldirectord@") || strings.Contains(r.Reason, "someone@else") {
				t.Fatalf("reason %q shows the password", r.Reason)
			}
		})
	}
}
