package checks

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// perlVerdict runs the check of the installed Perl ldirectord, loaded by
// testdata/perlcheck.pl, against the same real server.
func perlVerdict(t *testing.T, tg Target, env ...string) bool {
	t.Helper()
	args := []string{"testdata/perlcheck.pl",
		"checktype=" + string(tg.Check.Type), "service=" + tg.Check.Service,
		"protocol=" + string(tg.Protocol),
		"server=" + perlAddr(tg.Addr), "port=" + strconv.Itoa(int(tg.Port)),
		"request=" + tg.Check.Request, "receive=" + tg.Check.Receive,
		"login=" + tg.Check.Login, "passwd=" + tg.Check.Passwd,
		"httpmethod=" + tg.Check.HTTPMethod, "timeout=5",
	}
	if tg.Check.VirtualHost != "" {
		args = append(args, "virtualhost="+tg.Check.VirtualHost)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "perl", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("perl ldirectord check: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	switch lines[len(lines)-1] {
	case "up":
		return true
	case "down":
		return false
	}
	t.Fatalf("perl ldirectord check said %q", out)
	return false
}

// TestAgreesWithPerl judges the same real servers with these checks and
// with the check functions of the Perl ldirectord, and wants the same
// verdict from both.
func TestAgreesWithPerl(t *testing.T) {
	t.Parallel()
	need(t, "perl", "perl-base")
	if _, err := os.Stat("/usr/sbin/ldirectord"); err != nil {
		t.Fatalf("the Perl ldirectord is not installed: install the Debian package ldirectord (%v)", err)
	}
	web := httptest.NewServer(page(nil))
	t.Cleanup(web.Close)
	webTLS := httptest.NewTLSServer(page(nil))
	t.Cleanup(webTLS.Close)
	// Perl's LWP on Debian 12 checks the certificate chain (though not
	// the name) against the CAs it trusts: make it trust the test's.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	putFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: webTLS.Certificate().Raw})))
	trustTestCA := "SSL_CERT_FILE=" + ca
	webAddr := strings.TrimPrefix(web.URL, "http://")
	tlsAddr := strings.TrimPrefix(webTLS.URL, "https://")
	ftpAddr := vsftpd(t)
	smtpOK := "127.0.0.1:" + strconv.Itoa(exim(t, ""))
	smtpDeny := "127.0.0.1:" + strconv.Itoa(exim(t, "acl_smtp_connect = deny_all"))
	dnsAddr := "127.0.0.1:" + strconv.Itoa(dnsmasq(t))
	proxy := tinyproxy(t)
	status := statusServer(t, "tcp4")
	gone := refused(t, "tcp4")

	mk := func(addr string, typ conf.CheckType, service, request, receive string, edit ...func(*Target)) Target {
		tg := target(t, addr, typ, service)
		tg.Check.Request, tg.Check.Receive = request, receive
		for _, e := range edit {
			e(&tg)
		}
		return tg
	}
	neg := conf.CheckNegotiate
	cases := map[string]Target{
		"http up":                mk(webAddr, neg, "http", "/ok", "GO"),
		"http receive missing":   mk(webAddr, neg, "http", "/ok", "NO-GO"),
		"http 503":               mk(webAddr, neg, "http", "/unavailable", "OK"),
		"http redirect":          mk(webAddr, neg, "http", "/moved", "GO"),
		"http 404":               mk(webAddr, neg, "http", "/nothing", ""),
		"http HEAD":              mk(webAddr, neg, "http", "/ok", "", func(t *Target) { t.Check.HTTPMethod = "HEAD" }),
		"http HEAD with receive": mk(webAddr, neg, "http", "/ok", "GO", func(t *Target) { t.Check.HTTPMethod = "HEAD" }),
		"http virtualhost":       mk(webAddr, neg, "http", "/ok", "GO", func(t *Target) { t.Check.VirtualHost = "www.example.org" }),
		"http refused":           mk(gone, neg, "http", "/ok", "GO"),
		"https up":               mk(tlsAddr, neg, "https", "/ok", "GO"),
		"https 503":              mk(tlsAddr, neg, "https", "/unavailable", ""),
		"https on plain http":    mk(webAddr, neg, "https", "/ok", "GO"),
		"http_proxy up":          mk(proxy, neg, "http_proxy", web.URL+"/ok", "GO"),
		"http_proxy 503":         mk(proxy, neg, "http_proxy", web.URL+"/unavailable", ""),
		"ftp up":                 mk(ftpAddr, neg, "ftp", "/welcome.msg", "Welcome"),
		"ftp wrong content":      mk(ftpAddr, neg, "ftp", "/welcome.msg", "Goodbye"),
		"ftp missing file":       mk(ftpAddr, neg, "ftp", "/missing.txt", "Welcome"),
		"ftp failed login":       mk(ftpAddr, neg, "ftp", "/welcome.msg", "Welcome", func(t *Target) { t.Check.Login = "bob" }),
		"ftp refused":            mk(gone, neg, "ftp", "/welcome.msg", "Welcome"),
		"smtp up":                mk(smtpOK, neg, "smtp", "/", ""),
		"submission up":          mk(smtpOK, neg, "submission", "/", ""),
		"smtp refused by ACL":    mk(smtpDeny, neg, "smtp", "/", ""),
		"smtp refused":           mk(gone, neg, "smtp", "/", ""),
		"dns A udp":              mk(dnsAddr, neg, "dns", "/www.example.test", `192\.0\.2\.7`, func(t *Target) { t.Protocol = conf.UDP }),
		"dns A tcp":              mk(dnsAddr, neg, "dns", "/www.example.test", `192\.0\.2\.8`),
		"dns PTR":                mk(dnsAddr, neg, "dns", "/192.0.2.7", "www.example.test", func(t *Target) { t.Protocol = conf.UDP }),
		"dns wrong answer":       mk(dnsAddr, neg, "dns", "/www.example.test", "10.0.0.1", func(t *Target) { t.Protocol = conf.UDP }),
		"dns empty receive":      mk(dnsAddr, neg, "dns", "/www.example.test", "", func(t *Target) { t.Protocol = conf.UDP }),
		"dns NXDOMAIN":           mk(dnsAddr, neg, "dns", "/nx.example.test", ".", func(t *Target) { t.Protocol = conf.UDP }),
		"simpletcp up":           mk(status, neg, "simpletcp", `/status\n`, `^load \d`),
		"simpletcp mismatch":     mk(status, neg, "simpletcp", "/status", "^load 9"),
		"simpletcp refused":      mk(gone, neg, "simpletcp", "/status", "load"),
		"connect up":             mk(webAddr, conf.CheckConnect, "", "/", ""),
		"connect refused":        mk(gone, conf.CheckConnect, "", "/", ""),
		"none":                   mk(gone, neg, "none", "/", ""),
	}
	// The one known difference: a certificate the director does not
	// trust. ldirectord asks LWP not to verify (verify_hostname => 0),
	// but LWP on Debian 12 still checks the chain; we judge a real server
	// by its answer, not its certificate, as ldirectord intends.
	t.Run("https self-signed, a known difference", func(t *testing.T) {
		t.Parallel()
		tg := cases["https up"]
		tg.Timeout = 5 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
		ours := Run(ctx, tg)
		cancel()
		if perl := perlVerdict(t, tg); perl || !ours.Up {
			t.Fatalf("untrusted certificate: Perl up=%v (want down), we up=%v (want up: %s)", perl, ours.Up, ours.Reason)
		}
	})
	for name, tg := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tg.Timeout = 5 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
			ours := Run(ctx, tg)
			cancel()
			if perl := perlVerdict(t, tg, trustTestCA); perl != ours.Up {
				t.Fatalf("Perl ldirectord says up=%v, we say up=%v (%s)", perl, ours.Up, ours.Reason)
			}
		})
	}
}
