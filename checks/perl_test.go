package checks

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// perlVerdict runs the check of the installed Perl ldirectord, loaded by
// testdata/perlcheck.pl, against the same real server.
func perlVerdict(tg Target, env ...string) (bool, error) {
	args := []string{"testdata/perlcheck.pl",
		"checktype=" + string(tg.Check.Type), "service=" + tg.Check.Service,
		"protocol=" + string(tg.Protocol),
		"server=" + perlAddr(tg.Addr), "port=" + strconv.Itoa(int(tg.Port)),
		"request=" + tg.Check.Request, "receive=" + tg.Check.Receive,
		"login=" + tg.Check.Login, "passwd=" + tg.Check.Passwd,
		"httpmethod=" + tg.Check.HTTPMethod,
		"timeout=" + strconv.Itoa(int(tg.Timeout/time.Second)),
	}
	if tg.Check.VirtualHost != "" {
		args = append(args, "virtualhost="+tg.Check.VirtualHost)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "perl", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("perl ldirectord check: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	switch lines[len(lines)-1] {
	case "up":
		return true, nil
	case "down":
		return false, nil
	}
	return false, fmt.Errorf("perl ldirectord check said %q, want up or down", out)
}

// verdicts judges the target with both implementations at once.
type verdicts struct {
	ours Result
	perl bool
	err  error
}

func judgeBoth(tg Target, env ...string) verdicts {
	var v verdicts
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.perl, v.err = perlVerdict(tg, env...)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
	v.ours = Run(ctx, tg)
	cancel()
	<-done
	return v
}

// TestAgreesWithPerl judges the same real servers with these checks and
// with the check functions of the Perl ldirectord, and wants the same
// verdict from both.
func TestAgreesWithPerl(t *testing.T) {
	t.Parallel()
	need(t, "perl-base", "perl")
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
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: webTLS.Certificate().Raw})))
	trustTestCA := "SSL_CERT_FILE=" + ca
	webAddr, tlsAddr := addrOf(web), addrOf(webTLS)
	ftpAddr := vsftpd(t)
	smtpOK := loopback(exim(t, ""))
	smtpDeny := loopback(exim(t, "acl_smtp_connect = deny_all"))
	smtpNoEhlo := loopback(exim(t, "acl_smtp_helo = deny_ehlo"))
	smtpLaterEhlo := loopback(exim(t, "acl_smtp_helo = defer_ehlo"))
	dnsAddr := loopback(dnsmasq(t))
	proxy := tinyproxy(t)
	status := statusServer(t, "tcp4")
	gone := refused(t, "tcp4")
	silentAddr, junk := serve(t, "tcp4", silent), serve(t, "tcp4", garbage)

	mk := func(addr netip.AddrPort, typ conf.CheckType, service, request, receive string, edit ...func(*Target)) Target {
		tg := target(addr, typ, service)
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
		"smtp EHLO refused":      mk(smtpNoEhlo, neg, "smtp", "/", ""),
		"smtp EHLO deferred":     mk(smtpLaterEhlo, neg, "smtp", "/", ""),
		"dns A udp":              mk(dnsAddr, neg, "dns", "/www.example.test", `192\.0\.2\.7`, func(t *Target) { t.Protocol = conf.UDP }),
		"dns A tcp":              mk(dnsAddr, neg, "dns", "/www.example.test", `192\.0\.2\.8`),
		"dns PTR":                mk(dnsAddr, neg, "dns", "/192.0.2.7", "www.example.test", func(t *Target) { t.Protocol = conf.UDP }),
		"dns wrong answer":       mk(dnsAddr, neg, "dns", "/www.example.test", "10.0.0.1", func(t *Target) { t.Protocol = conf.UDP }),
		"dns empty receive":      mk(dnsAddr, neg, "dns", "/www.example.test", "", func(t *Target) { t.Protocol = conf.UDP }),
		"dns NXDOMAIN":           mk(dnsAddr, neg, "dns", "/nx.example.test", ".", func(t *Target) { t.Protocol = conf.UDP }),
		"dns AAAA only":          mk(dnsAddr, neg, "dns", "/v6only.example.test", "2001", func(t *Target) { t.Protocol = conf.UDP }),
		"dns CNAME only":         mk(dnsAddr, neg, "dns", "/dangling.example.test", ".", func(t *Target) { t.Protocol = conf.UDP }),
		"simpletcp up":           mk(status, neg, "simpletcp", `/status\n`, `^load \d`),
		"simpletcp mismatch":     mk(status, neg, "simpletcp", "/status", "^load 9"),
		"simpletcp refused":      mk(gone, neg, "simpletcp", "/status", "load"),
		"connect up":             mk(webAddr, conf.CheckConnect, "", "/", ""),
		"connect refused":        mk(gone, conf.CheckConnect, "", "/", ""),
		"none":                   mk(gone, neg, "none", "/", ""), "http never answers": mk(silentAddr, neg, "http", "/ok", "GO"),
		"http garbage":            mk(junk, neg, "http", "/ok", "GO"),
		"smtp never answers":      mk(silentAddr, neg, "smtp", "/", ""),
		"smtp garbage":            mk(junk, neg, "smtp", "/", ""),
		"simpletcp never answers": mk(silentAddr, neg, "simpletcp", "/status", "load"),
		"ftp never answers":       mk(silentAddr, neg, "ftp", "/welcome.msg", "Welcome"),
	}
	// A few at a time: the down cases wait for their timeouts, and each
	// Perl check costs a Perl start-up on a small machine.
	results := make(map[string]verdicts, len(cases))
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	for name, tg := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			// Long enough that a loaded machine turns no server
			// down, except those that never answer.
			tg.Timeout = 15 * time.Second
			if strings.Contains(name, "never answers") {
				tg.Timeout = 2 * time.Second
			}
			v := judgeBoth(tg, trustTestCA)
			mu.Lock()
			results[name] = v
			mu.Unlock()
		}()
	}
	// The one known difference: a certificate the director does not
	// trust. ldirectord asks LWP not to verify (verify_hostname => 0),
	// but LWP on Debian 12 still checks the chain; we judge a real server
	// by its answer, not its certificate, as ldirectord intends.
	selfSigned := cases["https up"]
	selfSigned.Timeout = 15 * time.Second
	untrusted := judgeBoth(selfSigned)
	wg.Wait()

	// Where we differ on purpose: Perl is down, we are up.
	differs := map[string]string{
		"dns empty receive": "without receive Perl matches nothing; we accept any address",
		"dns AAAA only":     "Perl asks only for A records; we ask for AAAA when no A record matches",
	}
	for name, v := range results {
		t.Run(name, func(t *testing.T) {
			if v.err != nil {
				t.Fatal(v.err)
			}
			if why, ok := differs[name]; ok {
				if v.perl || !v.ours.Up {
					t.Fatalf("a known difference (%s): Perl up=%v (want down), we up=%v (want up: %s)", why, v.perl, v.ours.Up, v.ours.Reason)
				}
				return
			}
			if v.perl != v.ours.Up {
				t.Fatalf("Perl ldirectord says up=%v, we say up=%v (%s)", v.perl, v.ours.Up, v.ours.Reason)
			}
		})
	}
	t.Run("https self-signed, a known difference", func(t *testing.T) {
		if untrusted.err != nil {
			t.Fatal(untrusted.err)
		}
		if untrusted.perl || !untrusted.ours.Up {
			t.Fatalf("untrusted certificate: Perl up=%v (want down), we up=%v (want up: %s)", untrusted.perl, untrusted.ours.Up, untrusted.ours.Reason)
		}
	})
}
