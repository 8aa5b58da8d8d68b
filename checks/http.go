package checks

import (
	"bufio"
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

// maxRedirects is how many redirects LWP, and so ldirectord, follows;
// maxHeader bounds the head of an HTTP answer.
const (
	maxRedirects = 7
	maxHeader    = maxLine * 4
)

// checkHTTP fetches the request over HTTP with httpmethod. It is up when
// the final answer (after redirects, as LWP follows them) is 2xx and its
// body matches receive; an empty receive matches any body.
func checkHTTP(ctx context.Context, t Target) Result {
	if r, ok := leanHTTP(ctx, t); ok {
		return r
	}
	u, full := httpURL(t, "http")
	return fetch(ctx, t, u, full, nil, nil)
}

// checkHTTPS is checkHTTP over TLS. The certificate is not verified, as
// ldirectord asks of LWP: a real server is judged by its answer, not its
// certificate. virtualhost, when set, is also the TLS server name.
func checkHTTPS(ctx context.Context, t Target) Result {
	u, full := httpURL(t, "https")
	return fetch(ctx, t, u, full, nil, nil)
}

// checkHTTPProxy asks the real server, as an HTTP proxy, for the request,
// which must be an absolute URL.
func checkHTTPProxy(ctx context.Context, t Target) Result {
	u := strings.TrimPrefix(t.Check.Request, "/")
	if !strings.Contains(u, "://") {
		return down(fmt.Sprintf("http_proxy request %q is not an absolute URL", t.Check.Request))
	}
	proxy := &url.URL{Scheme: "http", Host: hostPort(t)}
	return fetch(ctx, t, u, true, proxy, nil)
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
// server's address without the port, as ldirectord sends it. sent, when
// not nil, is a connection on which the lean lane has sent the request to
// u already: the answer is read from it, and only the redirects after it
// are sent.
func fetch(ctx context.Context, t Target, u string, full bool, proxy *url.URL, sent net.Conn) Result {
	if sent != nil {
		// Closed with the answer's body once the client reads it;
		// closing it again, when the client never does, is harmless.
		defer func() { _ = sent.Close() }()
	}
	receive, err := compileReceive(t.Check.Receive)
	if err != nil {
		return down(fmt.Sprintf("receive %q is not a valid regexp: %v", t.Check.Receive, err))
	}
	method := strings.ToUpper(t.Check.HTTPMethod)
	if method == "" {
		method = http.MethodGet
	}
	// The transport dials on a context of its own, detached from the
	// request's (it would keep a connection that a request gave up on
	// for the next one): the check's context goes with the request as a
	// value, for the dial to be bounded and canceled by.
	req, err := http.NewRequestWithContext(context.WithValue(ctx, checkContext{}, ctx), method, u, nil)
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
	var rt http.RoundTripper = transport(t, proxy)
	if proxy == nil {
		rt = &plainHTTP{tls: rt, sent: sent}
	}
	client := &http.Client{Transport: rt, CheckRedirect: checkRedirect}
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

// checkContext is the key of the check's context in a request's context.
type checkContext struct{}

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
		// The transport dials, goes through a proxy's CONNECT and
		// makes the TLS handshake after the request gave up, on a
		// context without its deadline: a connection bounded by the
		// check's own context ends all of them with the check.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if check, ok := ctx.Value(checkContext{}).(context.Context); ok {
				ctx = check
			}
			return dial(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, //nolint:gosec // ldirectord does not verify real servers' certificates
			ServerName:         key.serverName,
		},
		MaxResponseHeaderBytes: maxHeader,
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

// plainHTTP does an http:// request itself, on the check's goroutine:
// dial, write the request, read the answer from a small buffer. A
// transport costs each connection two goroutines of its own and their
// channels and buffers, which at thousands of checks a second are most of
// the daemon's work. Other schemes (an https redirect target) go to tls.
// sent, when not nil, is the connection on which the first request has
// been sent already.
type plainHTTP struct {
	tls  http.RoundTripper
	sent net.Conn
}

func (p *plainHTTP) RoundTrip(req *http.Request) (*http.Response, error) {
	if c := p.sent; c != nil {
		p.sent = nil
		return readAnswer(c, req)
	}
	if req.URL.Scheme != "http" {
		return p.tls.RoundTrip(req)
	}
	if req.Body != nil {
		_ = req.Body.Close() // checks send none
	}
	if req.URL.Host == "" {
		return nil, errors.New("http: no Host in request URL")
	}
	port := req.URL.Port()
	if port == "" {
		port = "80"
	}
	c, err := dial(req.Context(), "tcp", net.JoinHostPort(req.URL.Hostname(), port))
	if err != nil {
		return nil, err
	}
	out := *req
	out.Close = true // one request a connection, as LWP does
	bw := bufio.NewWriterSize(c, 512)
	if err := out.Write(bw); err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return readAnswer(c, req)
}

// readAnswer reads the answer to req from c, on which req has been sent,
// and closes c with the answer's body, or at once on an error.
func readAnswer(c net.Conn, req *http.Request) (*http.Response, error) {
	// The head may be at most maxHeader bytes, as a transport's
	// MaxResponseHeaderBytes; the body is bounded by its reader.
	b := limit(c, maxHeader)
	br := bufio.NewReaderSize(b, 1024)
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		// An informational answer (100 Continue) comes before the
		// real one, which a transport waits for too.
		if resp.StatusCode >= 200 || resp.StatusCode < 100 || resp.StatusCode == http.StatusSwitchingProtocols {
			b.left, b.max = b.left+maxBody, b.max+maxBody
			resp.Body = closeConn{ReadCloser: resp.Body, c: c}
			return resp, nil
		}
	}
}

// closeConn closes the check's connection with the answer's body.
type closeConn struct {
	io.ReadCloser
	c net.Conn
}

func (cc closeConn) Close() error {
	err := cc.ReadCloser.Close()
	_ = cc.c.Close()
	return err
}

// serverName is the TLS server name for a virtualhost, which may carry a
// port as a Host header does.
func serverName(virtualHost string) string {
	if host, _, err := net.SplitHostPort(virtualHost); err == nil {
		return host
	}
	return virtualHost
}
