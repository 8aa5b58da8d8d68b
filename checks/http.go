package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// maxRedirects is how many redirects LWP, and so ldirectord, follows.
const maxRedirects = 7

// checkHTTP fetches the request over HTTP with httpmethod. It is up when
// the final answer (after redirects, as LWP follows them) is 2xx and its
// body matches receive; an empty receive matches any body.
func checkHTTP(ctx context.Context, t Target) Result {
	u, full := httpURL(t, "http")
	return fetch(ctx, t, u, full, nil)
}

// checkHTTPS is checkHTTP over TLS. The certificate is not verified, as
// ldirectord asks of LWP: a real server is judged by its answer, not its
// certificate. virtualhost, when set, is also the TLS server name.
func checkHTTPS(ctx context.Context, t Target) Result {
	u, full := httpURL(t, "https")
	return fetch(ctx, t, u, full, nil)
}

// checkHTTPProxy asks the real server, as an HTTP proxy, for the request,
// which must be an absolute URL.
func checkHTTPProxy(ctx context.Context, t Target) Result {
	u := strings.TrimPrefix(t.Check.Request, "/")
	if !strings.Contains(u, "://") {
		return down(fmt.Sprintf("http_proxy request %q is not an absolute URL", u))
	}
	proxy := &url.URL{Scheme: "http", Host: hostPort(t)}
	return fetch(ctx, t, u, true, proxy)
}

// httpURL builds the URL ldirectord fetches: a request that holds
// "<scheme>://" is the whole URL, anything else is a path on the real
// server. full reports the former.
func httpURL(t Target, scheme string) (u string, full bool) {
	uri := strings.TrimPrefix(t.Check.Request, "/")
	if strings.Contains(t.Check.Request, scheme+"://") {
		return uri, true
	}
	return scheme + "://" + hostPort(t) + "/" + uri, false
}

// fetch does the request and judges the answer. The Host header is
// virtualhost when set; otherwise the host of a full URL, or the real
// server's address without the port, as ldirectord sends it.
func fetch(ctx context.Context, t Target, u string, full bool, proxy *url.URL) Result {
	receive, err := compileReceive(t.Check.Receive)
	if err != nil {
		return down(fmt.Sprintf("receive %q is not a valid regexp: %v", t.Check.Receive, err))
	}
	method := strings.ToUpper(t.Check.HTTPMethod)
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return down(fmt.Sprintf("request %q: %v", u, err))
	}
	switch {
	case t.Check.VirtualHost != "":
		req.Host = t.Check.VirtualHost
	case proxy == nil && !full:
		req.Host = perlAddr(t.Addr)
	}
	req.Header.Set("User-Agent", "ldirectord")
	client := &http.Client{Transport: transport(t, proxy), CheckRedirect: checkRedirect}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(err.Error(), "readLoopPeekFailLocked") {
			return down("server sent bytes before the request")
		}
		return failure(ctx, t, "waiting for HTTP response", err)
	}
	defer resp.Body.Close()
	status := "HTTP " + resp.Status
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return down(status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return failure(ctx, t, "reading HTTP body", err)
	}
	if t.Check.Receive != "" && !perlMatch(receive, body) {
		return down(fmt.Sprintf("receive /%s/ not found in %d bytes of %s body", t.Check.Receive, len(body), status))
	}
	return up(status)
}

func checkRedirect(_ *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	return nil
}

// transportKey is what makes two checks' transports differ.
type transportKey struct {
	serverName string
	proxy      string
}

// transports are shared by all checks with the same TLS server name and
// proxy: a transport of its own per check costs every check its set-up
// and garbage. Keep-alives are off, so a transport holds no connection
// between checks and each check opens and closes its own, as LWP does.
var transports sync.Map // transportKey -> *http.Transport

func transport(t Target, proxy *url.URL) *http.Transport {
	key := transportKey{serverName: serverName(t.Check.VirtualHost)}
	if proxy != nil {
		key.proxy = proxy.String()
	}
	if tr, ok := transports.Load(key); ok {
		return tr.(*http.Transport)
	}
	tr := &http.Transport{
		DisableKeepAlives:  true,
		DisableCompression: true,
		// LWP does not read proxies from the environment either.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dial(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, //nolint:gosec // ldirectord does not verify real servers' certificates
			ServerName:         key.serverName,
		},
		MaxResponseHeaderBytes: maxLine * 4,
		// A request is a few lines and a health page is small: the
		// default 4 KiB buffers would be most of a check's memory.
		WriteBufferSize: 512,
		ReadBufferSize:  1024,
	}
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
	}
	actual, _ := transports.LoadOrStore(key, tr)
	return actual.(*http.Transport)
}

// receives holds the compiled receive regexps: a configuration has few,
// and each check of a real server would compile the same one again.
var receives sync.Map // string -> *regexp.Regexp

func compileReceive(expr string) (*regexp.Regexp, error) {
	if re, ok := receives.Load(expr); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	receives.Store(expr, re)
	return re, nil
}

// serverName is the TLS server name for a virtualhost, which may carry a
// port as a Host header does.
func serverName(virtualHost string) string {
	if host, _, err := net.SplitHostPort(virtualHost); err == nil {
		return host
	}
	return virtualHost
}
