package checks

import (
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// tinyproxy starts tinyproxy on 127.0.0.1 and returns its address.
func tinyproxy(t *testing.T) string {
	t.Helper()
	dir := openDir(t)
	port := loopbackPort(t)
	cfg := filepath.Join(dir, "tinyproxy.conf")
	putFile(t, cfg, strings.NewReplacer("PORT", strconv.Itoa(port)).Replace(`Port PORT
Listen 127.0.0.1
Timeout 30
Allow 127.0.0.1
LogLevel Critical
MaxClients 20
DisableViaHeader Yes
`))
	runDaemon(t, "tinyproxy-bin", "tinyproxy", "-d", "-c", cfg)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitTCP(t, addr)
	return addr
}

func TestHTTPProxy(t *testing.T) {
	t.Parallel()
	proxy := tinyproxy(t)
	origin := httptest.NewServer(page(nil))
	t.Cleanup(origin.Close)
	gone := "http://" + refused(t, "tcp4") + "/ok"

	proxyTarget := func(addr, request, receive string) Target {
		tg := target(t, addr, conf.CheckNegotiate, "http_proxy")
		tg.Check.Request, tg.Check.Receive = request, receive
		return tg
	}
	cases := []struct {
		name   string
		tg     Target
		up     bool
		reason string
	}{
		{"through the proxy", proxyTarget(proxy, "/"+origin.URL+"/ok", "systems GO"), true, "HTTP 200 OK"},
		{"without leading slash", proxyTarget(proxy, origin.URL+"/moved", "GO"), true, "HTTP 200 OK"},
		{"wrong answer", proxyTarget(proxy, origin.URL+"/ok", "NO-GO"), false, "receive /NO-GO/ not found in 23 bytes of HTTP 200 OK body"},
		{"origin error", proxyTarget(proxy, origin.URL+"/unavailable", ""), false, "HTTP 503 Service Unavailable"},
		{"origin unreachable", proxyTarget(proxy, gone, ""), false, "HTTP 500"},
		{"relative request", proxyTarget(proxy, "/ok", ""), false, `http_proxy request "ok" is not an absolute URL`},
		{"proxy refused", proxyTarget(refused(t, "tcp4"), origin.URL+"/ok", ""), false, "connect: connection refused"},
		{"proxy never answers", proxyTarget(mute(t, "tcp4"), origin.URL+"/ok", ""), false, "timeout after 2s waiting for HTTP response"},
		{"origin too slow", proxyTarget(proxy, origin.URL+"/slow", "GO"), false, "timeout after 2s waiting for HTTP response"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, c.tg, c.up, c.reason)
		})
	}
}
