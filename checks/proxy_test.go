package checks

import (
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tinyproxy starts tinyproxy on 127.0.0.1 and returns its address.
func tinyproxy(t *testing.T) netip.AddrPort {
	t.Helper()
	dir := shortTempDir(t, "tp")
	port := freePort(t)
	cfg := filepath.Join(dir, "tinyproxy.conf")
	writeFile(t, cfg, strings.NewReplacer("PORT", strconv.Itoa(int(port))).Replace(`Port PORT
Listen 127.0.0.1
Timeout 30
Allow 127.0.0.1
LogLevel Critical
MaxClients 20
DisableViaHeader Yes
`))
	d := startDaemon(t, need(t, "tinyproxy-bin", "tinyproxy"), "-d", "-c", cfg)
	d.stop = syscall.SIGKILL
	waitListening(t, d, 30*time.Second, loopback(port))
	return loopback(port)
}

func TestHTTPProxy(t *testing.T) {
	t.Parallel()
	proxy := tinyproxy(t)
	origin := httptest.NewServer(page(nil))
	t.Cleanup(origin.Close)
	gone := "http://" + refused(t, "tcp4").String() + "/ok"

	cases := []struct {
		name   string
		tg     Target
		up     bool
		reason string
	}{
		{"through the proxy", negotiate(proxy, "http_proxy", "/"+origin.URL+"/ok", "systems GO"), true, "HTTP 200 OK"},
		{"without leading slash", negotiate(proxy, "http_proxy", origin.URL+"/moved", "GO"), true, "HTTP 200 OK"},
		{"wrong answer", negotiate(proxy, "http_proxy", origin.URL+"/ok", "NO-GO"), false, "receive /NO-GO/ not found in 23 bytes of HTTP 200 OK body"},
		{"origin error", negotiate(proxy, "http_proxy", origin.URL+"/unavailable", ""), false, "HTTP 503 Service Unavailable"},
		{"origin unreachable", negotiate(proxy, "http_proxy", gone, ""), false, "HTTP 500"},
		{"relative request", negotiate(proxy, "http_proxy", "/ok", ""), false, `http_proxy request "/ok" is not an absolute URL`},
		{"proxy refused", negotiate(refused(t, "tcp4"), "http_proxy", origin.URL+"/ok", ""), false, "connect: connection refused"},
		{"proxy never answers", negotiate(serve(t, "tcp4", silent), "http_proxy", origin.URL+"/ok", ""), false, "timeout after 2s waiting for HTTP response"},
		{"origin too slow", negotiate(proxy, "http_proxy", origin.URL+"/slow", "GO"), false, "timeout after 2s waiting for HTTP response"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, c.tg, c.up, c.reason)
		})
	}
}
