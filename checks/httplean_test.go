package checks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// clientHTTP is checkHTTP without the lean lane: the client does the
// whole check, as it did before the lane was made.
func clientHTTP(ctx context.Context, t Target) Result {
	u, full := httpURL(t, "http")
	return fetch(ctx, t, u, full, nil, nil)
}

// TestLeanRequestBytes asks that the lean lane writes the very request
// net/http writes, for the methods, paths, virtualhosts and addresses a
// configuration may give.
func TestLeanRequestBytes(t *testing.T) {
	t.Parallel()
	addrs := []string{"127.0.0.1", "10.1.2.3", "::1", "2001:db8::5", "::ffff:192.0.2.7"}
	methods := []string{"", "GET", "get", "HEAD", "head", "POST", "PUT", "OPTIONS", "DELETE"}
	requests := []string{"/", "", "ok", "/ok", "/a b", "/a?b=c d&e", "/x#frag", "/%41%2F", "/ü", "//double", "/~user/", "/;p?q"}
	vhosts := []string{"", "www.example.org", "example.org:8080", "bücher.example", "[2001:db8::1]:80"}
	n := 0
	for _, a := range addrs {
		addr := netip.MustParseAddr(a)
		for _, m := range methods {
			for _, r := range requests {
				for _, v := range vhosts {
					c := conf.Check{HTTPMethod: m, Request: r, VirtualHost: v}
					tpl := requestFor(c)
					want, err := clientRequest(addr, c)
					if tpl == nil {
						if err == nil {
							t.Errorf("%s %q %q: no template, but net/http writes %q", m, r, v, want)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s %q %q: a template, but net/http fails: %v", m, r, v, err)
						continue
					}
					if got := tpl.appendTo(nil, addr); !bytes.Equal(got, want) {
						t.Errorf("%s %q %q to %s:\nlean   %q\nclient %q", m, r, v, addr, got, want)
					}
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no template made")
	}
}

// clientRequest is the request fetch and plainHTTP write for a check c
// of the real at addr, port 80.
func clientRequest(addr netip.Addr, c conf.Check) ([]byte, error) {
	tg := Target{Addr: addr, Port: 80, Check: c}
	u, _ := httpURL(tg, "http")
	method := strings.ToUpper(c.HTTPMethod)
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Host = c.VirtualHost
	if req.Host == "" {
		req.Host = perlAddr(addr)
	}
	req.Header.Set("User-Agent", "ldirectord")
	req.Close = true
	var b bytes.Buffer
	err = req.Write(&b)
	return b.Bytes(), err
}

// TestLeanTemplatesBounded asks that requests beyond maxTemplates go the
// client's way rather than grow the cache. Not parallel: it fills the
// cache that every http test uses.
func TestLeanTemplatesBounded(t *testing.T) {
	templates.Lock()
	saved := templates.m
	templates.m = nil
	templates.Unlock()
	t.Cleanup(func() {
		templates.Lock()
		templates.m = saved
		templates.Unlock()
	})
	for i := range maxTemplates {
		if requestFor(conf.Check{Request: "/" + strings.Repeat("x", i)}) == nil {
			t.Fatalf("template %d refused, want up to %d", i, maxTemplates)
		}
	}
	if requestFor(conf.Check{Request: "/one-too-many"}) != nil {
		t.Fatalf("template %d made, want at most %d", maxTemplates+1, maxTemplates)
	}
	if requestFor(conf.Check{Request: "/"}) == nil {
		t.Fatal("a kept template is no longer found")
	}
}

// httpScript is a scripted HTTP server: for each request it is sent (its
// head recorded in heads), it writes the pieces answer gives for the
// request's path, a moment apart, and then ends the connection as end
// says: "close" (or ""), "hold" (open until the client closes) or
// "reset".
type httpScript struct {
	answer func(path string) []string
	end    string

	mu    sync.Mutex
	heads []string
}

func (s *httpScript) serve(c net.Conn) {
	r := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	s.mu.Lock()
	s.heads = append(s.heads, head.String())
	s.mu.Unlock()
	path := strings.Fields(head.String())[1]
	for i, piece := range s.answer(path) {
		if i > 0 {
			time.Sleep(30 * time.Millisecond)
		}
		if _, err := io.WriteString(c, piece); err != nil {
			return
		}
	}
	switch s.end {
	case "hold":
		_, _ = io.Copy(io.Discard, c)
	case "reset":
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
}

func (s *httpScript) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.heads...)
}

// says answers every request with the pieces.
func says(pieces ...string) func(string) []string {
	return func(string) []string { return pieces }
}

// redirectsTo answers a redirect to location, and 200 with "GO" at /ok.
func redirectsTo(code, location string) func(string) []string {
	return func(path string) []string {
		if path == "/ok" {
			return []string{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nGO"}
		}
		return []string{"HTTP/1.1 " + code + "\r\nLocation: " + location + "\r\nContent-Length: 0\r\n\r\n"}
	}
}

// TestLeanSameAsClient runs the lean lane and the client against the same
// scripted servers and asks for the same verdict and reason, and the same
// requests on the wire: answers the lane reads itself, and those it hands
// to the client (redirects, informational answers, odd heads and bodies,
// answers too long for its buffer, resets and timeouts).
func TestLeanSameAsClient(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 20<<10) + "GO"
	page := strings.Repeat("x", 11<<10) + "GO"
	chunk := func(s string) string { return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n" }
	cases := []struct {
		name   string
		answer func(string) []string
		end    string
		edit   func(*conf.Check)
	}{
		{name: "200 with length", answer: says(okAnswer)},
		{name: "200 in pieces", answer: says("HTTP/1.1 2", "00 OK\r\nContent-Le", "ngth: 2\r\n\r", "\no", "k")},
		{name: "receive missing", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnope\n")},
		{name: "receive at end before newline", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"), edit: func(c *conf.Check) { c.Receive = "ok$" }},
		{name: "empty receive", answer: says(okAnswer), edit: func(c *conf.Check) { c.Receive = "" }},
		{name: "chunked", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("o") + chunk("k") + "0\r\n\r\n")},
		{name: "chunked in pieces", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1\r", "\no\r\n1\r\nk\r", "\n0\r\n", "\r\n"), end: "hold"},
		{name: "chunked upper-case size", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\nok34567890\r\n0\r\n\r\n")},
		{name: "chunked extension", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\n\r\n")},
		{name: "chunked trailer", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n")},
		// Not held open: at the deadline the client's reason is a
		// race of the connection's deadline and the context's
		// ("unexpected EOF reading trailer" or a timeout), lane or not.
		{name: "chunked without last empty line", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n")},
		{name: "chunked bare LF", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n")},
		{name: "chunked bad end of data", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n")},
		{name: "chunked and length", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")},
		{name: "transfer-encoding gzip", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok")},
		{name: "transfer-encoding twice", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")},
		{name: "transfer-encoding on 1.0", answer: says("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")},
		{name: "HTTP/1.0 until close", answer: says("HTTP/1.0 200 OK\r\n\r\n", "o", "k")},
		{name: "HTTP/1.1 until close", answer: says("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok")},
		{name: "until close, held open", answer: says("HTTP/1.0 200 OK\r\n\r\nok"), end: "hold"},
		{name: "length, held open", answer: says(okAnswer), end: "hold"},
		{name: "length, short and closed", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok")},
		{name: "length, short and held", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok"), end: "hold"},
		{name: "length, short and reset", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok"), end: "reset"},
		{name: "head only, reset", answer: says("HTTP/1.1 200 OK\r\nContent-Le"), end: "reset"},
		{name: "nothing, closed", answer: says()},
		{name: "nothing, held", answer: says(), end: "hold"},
		{name: "bytes after the body", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 No\r\n\r\n")},
		{name: "length twice, same", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok")},
		{name: "length twice, differing", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!")},
		{name: "length bad", answer: says("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok")},
		{name: "length empty", answer: says("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nok")},
		{name: "length with spaces", answer: says("HTTP/1.1 200 OK\r\nContent-Length:   2  \r\n\r\nok")},
		{name: "length huge", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nok")},
		{name: "body over the small buffer", answer: says("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(page)) + "\r\n\r\n" + page), edit: func(c *conf.Check) { c.Receive = "GO" }},
		{name: "body over the small buffer, in pieces", answer: says("HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(page))+"\r\n\r\n"+page[:3000], page[3000:]), edit: func(c *conf.Check) { c.Receive = "GO" }},
		{name: "chunked over the small buffer", answer: says("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(page[:3000]) + chunk(page[3000:]) + "0\r\n\r\n"), edit: func(c *conf.Check) { c.Receive = "^x+GO$" }},
		{name: "head over the small buffer", answer: says("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("y", 3000) + "\r\nContent-Length: 2\r\n\r\nok")},
		{name: "answer the small buffer's size", answer: says(sized(smallAnswer))},
		{name: "answer the large buffer's size", answer: says(sized(leanBufferSize))},
		{name: "answer over the large buffer's size", answer: says(sized(leanBufferSize + 1))},
		{name: "body over the buffer", answer: says("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big), edit: func(c *conf.Check) { c.Receive = "GO" }},
		{name: "body over the buffer, until close", answer: says("HTTP/1.0 200 OK\r\n\r\n" + big), edit: func(c *conf.Check) { c.Receive = "GO" }},
		{name: "head over maxHeader", answer: says("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("y", maxHeader) + "\r\nContent-Length: 2\r\n\r\nok")},
		{name: "head just within maxHeader", answer: says(withinHead())},
		{name: "bare LF head", answer: says("HTTP/1.1 200 OK\nContent-Length: 2\n\nok")},
		{name: "bare LF head, held", answer: says("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), end: "hold"},
		{name: "CR in a value", answer: says("HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 2\r\n\r\nok")},
		{name: "folded header", answer: says("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok")},
		{name: "space before colon", answer: says("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nok")},
		{name: "no colon", answer: says("HTTP/1.1 200 OK\r\nbroken\r\n\r\nok")},
		{name: "no colon, held", answer: says("HTTP/1.1 200 OK\r\nbroken\r\n"), end: "hold"},
		{name: "leading space first header", answer: says("HTTP/1.1 200 OK\r\n X: 1\r\n\r\n")},
		{name: "status without text", answer: says("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok")},
		{name: "status with spaces", answer: says("HTTP/1.1   200  All  good \r\nContent-Length: 2\r\n\r\nok")},
		{name: "status with tab", answer: says("HTTP/1.1 200\tOK\r\nContent-Length: 2\r\n\r\nok")},
		{name: "status odd bytes", answer: says("HTTP/1.1 200 \xff\x1b[2J\r\r\nContent-Length: 2\r\n\r\nok")},
		{name: "status 999", answer: says("HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok")},
		{name: "status +20", answer: says("HTTP/1.1 +20 Odd\r\nContent-Length: 2\r\n\r\nok")},
		{name: "status 099", answer: says("HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok")},
		{name: "HTTP/2.0", answer: says("HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok")},
		{name: "HTTP/0.9", answer: says("ok\r\n")},
		{name: "garbage, held", answer: says("\x00\xff\xfe garbage\r\n"), end: "hold"},
		{name: "empty status line", answer: says("\r\nHTTP/1.1 200 OK\r\n\r\n")},
		{name: "204", answer: says("HTTP/1.1 204 No Content\r\n\r\n"), end: "hold"},
		{name: "204 with receive", answer: says("HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nok"), edit: func(c *conf.Check) { c.Receive = "ok" }},
		{name: "100 then 200", answer: says("HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
		{name: "101", answer: says("HTTP/1.1 101 Switching Protocols\r\n\r\n")},
		{name: "503 with length", answer: says("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")},
		{name: "503 body never sent", answer: says("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\n"), end: "hold"},
		{name: "503 body never sent, closing", answer: says("HTTP/1.1 503 Service Unavailable\r\nConnection: keep-alive, Close\r\nContent-Length: 4\r\n\r\n"), end: "hold"},
		{name: "503 body never sent, 1.0", answer: says("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 4\r\n\r\n"), end: "hold"},
		{name: "503 body never sent, 1.0 keep-alive", answer: says("HTTP/1.0 503 Service Unavailable\r\nConnection: Keep-Alive\r\nContent-Length: 4\r\n\r\n"), end: "hold"},
		{name: "503 until close, held", answer: says("HTTP/1.1 503 Service Unavailable\r\n\r\nbusy"), end: "hold"},
		{name: "503 chunked, held", answer: says("HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n"), end: "hold"},
		{name: "404", answer: says("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")},
		{name: "trailer header, not chunked", answer: says("HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 2\r\n\r\nok")},
		{name: "redirect relative", answer: redirectsTo("302 Found", "/ok")},
		{name: "redirect 301", answer: redirectsTo("301 Moved Permanently", "/ok")},
		{name: "redirect 307 HEAD", answer: redirectsTo("307 Temporary Redirect", "/ok"), edit: func(c *conf.Check) { c.HTTPMethod = "HEAD"; c.Receive = "" }},
		{name: "redirect 303 POST", answer: redirectsTo("303 See Other", "/ok"), edit: func(c *conf.Check) { c.HTTPMethod = "POST" }},
		{name: "redirect with virtualhost", answer: redirectsTo("302 Found", "/ok"), edit: func(c *conf.Check) { c.VirtualHost = "www.example.org" }},
		{name: "redirect loop", answer: redirectsTo("302 Found", "/loop")},
		{name: "redirect without location", answer: says("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n")},
		{name: "redirect bad location", answer: redirectsTo("302 Found", "http://[::1")},
		{name: "redirect elsewhere refused", answer: redirectsTo("302 Found", "http://127.0.0.1:1/ok")},
		{name: "304", answer: says("HTTP/1.1 304 Not Modified\r\n\r\n")},
		{name: "HEAD", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), end: "hold", edit: func(c *conf.Check) { c.HTTPMethod = "head"; c.Receive = "" }},
		{name: "HEAD with receive", answer: says("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), end: "hold", edit: func(c *conf.Check) { c.HTTPMethod = "HEAD" }},
		{name: "HEAD bad length", answer: says("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), edit: func(c *conf.Check) { c.HTTPMethod = "HEAD" }},
		{name: "POST", answer: says(okAnswer), edit: func(c *conf.Check) { c.HTTPMethod = "post" }},
		{name: "virtualhost and path", answer: says(okAnswer), edit: func(c *conf.Check) { c.VirtualHost = "www.example.org:8080"; c.Request = "health check?x=1" }},
		{name: "bad method", answer: says(okAnswer), edit: func(c *conf.Check) { c.HTTPMethod = "G T" }},
		{name: "bad request", answer: says(okAnswer), edit: func(c *conf.Check) { c.Request = "/%zz" }},
		{name: "bad virtualhost", answer: says(okAnswer), edit: func(c *conf.Check) { c.VirtualHost = "a b" }},
		{name: "bad receive", answer: says(okAnswer), edit: func(c *conf.Check) { c.Receive = "(" }},
		{name: "slow answer", answer: says("HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n\r\n", "o", "k")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &httpScript{answer: tc.answer, end: tc.end}
			addr := serve(t, "tcp4", s.serve)
			tg := negotiate(addr, conf.ServiceHTTP, "/", "ok")
			tg.Timeout = 700 * time.Millisecond
			if tc.edit != nil {
				tc.edit(&tg.Check)
			}
			lean := runCheck(checkHTTP, tg)
			leanHeads := s.requests()
			client := runCheck(clientHTTP, tg)
			clientHeads := s.requests()[len(leanHeads):]
			looped, ok := runLoop(t, tg)
			loopHeads := s.requests()[len(leanHeads)+len(clientHeads):]
			t.Logf("client up=%v after %v: %q", client.Up, client.Duration.Round(time.Millisecond), client.Reason)
			sameAsClient(t, tg, "lean lane", lean, leanHeads, client, clientHeads)
			if ok {
				sameAsClient(t, tg, "loop", looped, loopHeads, client, clientHeads)
			}
		})
	}
}

// sameAsClient fails the test unless way's verdict and reason are the
// client's, its requests the client's, and it waits no longer than the
// client, nor much less when the client waits for its deadline.
func sameAsClient(t *testing.T, tg Target, way string, r Result, heads []string, client Result, clientHeads []string) {
	t.Helper()
	t.Logf("%s up=%v after %v: %q", way, r.Up, r.Duration.Round(time.Millisecond), r.Reason)
	if r.Up != client.Up || r.Reason != client.Reason {
		t.Errorf("%s: up=%v %q; client: up=%v %q", way, r.Up, r.Reason, client.Up, client.Reason)
	}
	if strings.Join(heads, "") != strings.Join(clientHeads, "") {
		t.Errorf("requests differ:\n%s %q\nclient %q", way, heads, clientHeads)
	}
	if r.Duration > client.Duration+500*time.Millisecond ||
		client.Duration > tg.Timeout/2 && r.Duration < tg.Timeout/2 {
		t.Errorf("%s took %v, the client %v", way, r.Duration, client.Duration)
	}
}

// withinHead is an answer whose head is exactly maxHeader bytes long.
func withinHead() string {
	const start, end = "HTTP/1.1 200 OK\r\nX: ", "\r\nContent-Length: 2\r\n\r\n"
	return start + strings.Repeat("y", maxHeader-len(start)-len(end)) + end + "ok"
}

// sized is a 200 answer of n bytes whose body ends in "ok".
func sized(n int) string {
	head := "HTTP/1.1 200 OK\r\nContent-Length: 00000\r\n\r\n"
	body := strings.Repeat("x", n-len(head)-2) + "ok"
	return strings.Replace(head, "00000", fmt.Sprintf("%05d", len(body)), 1) + body
}

// TestLeanLaneTaken asks that the usual answers are judged in the lean
// lane, not handed to the client: told by the allocations of a check,
// about half of the client's.
func TestLeanLaneTaken(t *testing.T) {
	page := strings.Repeat("x", 11<<10) + "GO"
	for name, answer := range map[string]string{
		"length":  okAnswer,
		"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"page":    "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(page)) + "\r\n\r\n" + page,
		"503":     "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
	} {
		t.Run(name, func(t *testing.T) {
			tg := negotiate(benchServer(t, answer), conf.ServiceHTTP, "/", "")
			lean := testing.AllocsPerRun(50, func() { runCheck(checkHTTP, tg) })
			client := testing.AllocsPerRun(50, func() { runCheck(clientHTTP, tg) })
			t.Logf("allocations per check: lean lane %v, client %v", lean, client)
			if lean > client*2/3 {
				t.Errorf("%v allocations per check, the client's %v: the lean lane was not taken", lean, client)
			}
		})
	}
}

// TestLeanCanceled asks that a lean check of a server that never answers
// ends at once when canceled, with the client's reason.
func TestLeanCanceled(t *testing.T) {
	t.Parallel()
	tg := negotiate(serve(t, "tcp4", silent), conf.ServiceHTTP, "/", "ok")
	for _, f := range []Func{checkHTTP, clientHTTP} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		r := f(ctx, tg)
		cancel()
		if took := time.Since(start); took > slack || r.Up || r.Reason != "check canceled waiting for HTTP response" {
			t.Errorf("canceled check: up=%v %q after %v", r.Up, r.Reason, took)
		}
	}
}

// TestLeanAnswerSteps reads answers in the lean lane, whole and a byte at
// a time, and asks for the step, the status and the body.
func TestLeanAnswerSteps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in  string
		head, eof bool
		want      step
		reason    string
		body      string
	}{
		{name: "length", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want: answered, reason: "HTTP 200 OK", body: "ok"},
		{name: "length, more after", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokAND MORE", want: answered, reason: "HTTP 200 OK", body: "ok"},
		{name: "length, short", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok", want: needMore},
		{name: "length, short at the end", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok", eof: true, want: unusual},
		{name: "length zero", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: answered, reason: "HTTP 200 OK"},
		{name: "until the end", in: "HTTP/1.0 200 Fine\r\n\r\nok", want: needMore},
		{name: "until the end, ended", in: "HTTP/1.0 200 Fine\r\n\r\nok", eof: true, want: answered, reason: "HTTP 200 Fine", body: "ok"},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\no\r\n01\r\nk\r\n0\r\n\r\n", want: answered, reason: "HTTP 200 OK", body: "ok"},
		{name: "chunked, last empty line to come", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n", want: needMore},
		{name: "chunked, size too long", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0000002\r\nok\r\n0\r\n\r\n", want: unusual},
		{name: "chunked, white space", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n", want: unusual},
		{name: "chunked, empty size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nok\r\n0\r\n\r\n", want: unusual},
		{name: "chunked, CR alone", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\rXok\r\n0\r\n\r\n", want: unusual},
		{name: "HEAD", in: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head: true, want: answered, reason: "HTTP 200 OK"},
		{name: "204", in: "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", want: answered, reason: "HTTP 204 No Content"},
		{name: "503 length, keep-alive", in: "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbu", want: needMore},
		{name: "503 length, closing", in: "HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 4\r\n\r\n", want: answered, reason: "HTTP 503 Busy"},
		{name: "503 length, 1.0", in: "HTTP/1.0 503 Busy\r\nContent-Length: 4\r\n\r\n", want: answered, reason: "HTTP 503 Busy"},
		{name: "503 length, 1.0 keep-alive", in: "HTTP/1.0 503 Busy\r\nConnection: x, keep-alive\r\nContent-Length: 4\r\n\r\n", want: needMore},
		{name: "503 until the end", in: "HTTP/1.1 503 Busy\r\n\r\n", want: answered, reason: "HTTP 503 Busy"},
		{name: "503 chunked", in: "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nbusy\r\n", want: needMore},
		{name: "status spaces", in: "HTTP/1.1  200  OK \r\nContent-Length: 0\r\n\r\n", want: answered, reason: "HTTP 200  OK "},
		{name: "bare LF", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", want: answered, reason: "HTTP 200 OK", body: "ok"},
		{name: "CR kept", in: "HTTP/1.1 200 OK\r\r\nContent-Length: 2\r\n\r\nok", want: answered, reason: "HTTP 200 OK\r", body: "ok"},
		{name: "head to come", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", want: needMore},
		{name: "head ended early", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", eof: true, want: unusual},
		{name: "redirect", in: "HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n", want: unusual},
		{name: "continue", in: "HTTP/1.1 100 Continue\r\n\r\n", want: unusual},
		{name: "HTTP/1.2", in: "HTTP/1.2 200 OK\r\n\r\n", want: unusual},
		{name: "no status code", in: "HTTP/1.1 OK\r\n\r\n", want: unusual},
		{name: "key with space", in: "HTTP/1.1 200 OK\r\nX Y: 1\r\n\r\n", want: unusual},
		{name: "value with NUL", in: "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", want: unusual},
		{name: "value with high bytes", in: "HTTP/1.1 200 OK\r\nX: \xff\xfe\r\nContent-Length: 0\r\n\r\n", want: answered, reason: "HTTP 200 OK"},
		{name: "trailer", in: "HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 0\r\n\r\n", want: unusual},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			for _, bytewise := range []bool{false, true} {
				a := answer{head: tc.head}
				got := needMore
				if bytewise {
					for i := 1; i < len(in) && got == needMore; i++ {
						got = a.advance(in[:i], false)
					}
				}
				if got == needMore {
					got = a.advance(in, tc.eof)
				}
				if got != tc.want {
					t.Fatalf("bytewise=%v: step %v, want %v", bytewise, got, tc.want)
				}
				if got != answered {
					continue
				}
				b := bytes.Clone(in)
				if r := a.reason(b); r != tc.reason {
					t.Errorf("reason %q, want %q", r, tc.reason)
				}
				if a.code/100 == 2 {
					if body := a.bodyOf(b); string(body) != tc.body {
						t.Errorf("body %q, want %q", body, tc.body)
					}
				}
			}
		})
	}
}

// TestReplay asks that a replayed connection gives the bytes read, then
// the error read after them once, then reads on.
func TestReplay(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	go func() { _, _ = server.Write([]byte("on")); _ = server.Close() }()
	reset := errors.New("reset")
	r := &replay{Conn: client, read: []byte("before"), err: reset}
	got, err := io.ReadAll(io.LimitReader(r, 3))
	if string(got) != "bef" || err != nil {
		t.Fatalf("first reads %q, %v", got, err)
	}
	got, err = io.ReadAll(r)
	if string(got) != "ore" || err != reset {
		t.Fatalf("then %q, %v; want \"ore\" and the error", got, err)
	}
	got, err = io.ReadAll(r)
	if string(got) != "on" || err != nil {
		t.Fatalf("after the error %q, %v; want what the connection says", got, err)
	}
}
