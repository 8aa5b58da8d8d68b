package checks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"

	"github.com/ldirectord-go/ldirectord/conf"
)

// The lean lane: an http check of a path on the real server itself does
// its request by hand. net/http's client makes, for every check, a
// request with its URL and header map, the redirect machinery, a header
// map for the answer and buffered readers; at thousands of checks a second
// that is most of what a check costs beside its syscalls. The lean lane
// writes request bytes made once by net/http itself, reads the answer into
// one pooled buffer and parses only what the verdict needs: the status
// line and the headers that frame the body.
//
// It judges only answers it reads exactly as net/http does. Any other
// answer (a redirect, an informational answer, a head or body it does not
// parse, one that does not fit the buffer, a read error) goes on through
// the client from the bytes read so far, as if the client had read them
// itself: the same verdict and reason as before, and never a second
// request.

// leanBufferSize bounds the answers the lean lane reads: a head as long as
// net/http is let read (maxHeader) and the body after it. It is smaller
// than maxBody, so the lane never meets that bound, and large enough for
// the default pages of the usual web servers (Debian's Apache page is
// some 11 KB). An answer is read into a small buffer first, and into a
// large one only when it does not fit: a check holds its buffer while it
// waits for the answer, and thousands of reals that accept and never
// answer would hold thousands of large ones.
const (
	smallAnswer    = 2 << 10
	leanBufferSize = maxHeader
)

// The lean lane's buffers: a check needs one only from its request to its
// verdict.
var (
	smallBuffers = sync.Pool{New: func() any { return new([smallAnswer]byte) }}
	largeBuffers = sync.Pool{New: func() any { return new([leanBufferSize]byte) }}
)

// leanHTTP does checkHTTP's work in the lean lane and says whether it
// could: not for a full URL, nor for an address net/http cannot put in a
// URL (one with a zone), nor when the request or receive is one that
// fetch refuses.
func leanHTTP(ctx context.Context, t Target) (Result, bool) {
	if strings.Contains(t.Check.Request, "http://") || !t.Addr.IsValid() || t.Addr.Zone() != "" {
		return Result{}, false
	}
	receive, err := compileReceive(t.Check.Receive)
	if err != nil {
		return Result{}, false
	}
	tpl := requestFor(t.Check)
	if tpl == nil {
		return Result{}, false
	}
	// fetch gives the reasons below: a dial or write error is the
	// client's error of the first request.
	c, err := dial(ctx, "tcp", hostPort(t))
	if err != nil {
		return failure(ctx, t, "waiting for HTTP response", err), true
	}
	small := smallBuffers.Get().(*[smallAnswer]byte)
	var large *[leanBufferSize]byte
	buf := small[:]
	if _, err := c.Write(tpl.appendTo(buf[:0], t.Addr)); err != nil {
		_ = c.Close()
		smallBuffers.Put(small)
		return failure(ctx, t, "waiting for HTTP response", err), true
	}
	a := answer{head: tpl.head}
	var (
		n  int
		st step
	)
	for {
		var m int
		m, err = c.Read(buf[n:])
		n += m
		st = a.advance(buf[:n], err == io.EOF)
		if st != needMore || err != nil {
			break
		}
		if n == len(buf) {
			if large != nil {
				break
			}
			large = largeBuffers.Get().(*[leanBufferSize]byte)
			copy(large[:], buf)
			smallBuffers.Put(small)
			buf = large[:]
		}
	}
	var r Result
	var read []byte
	if st == answered {
		r = a.judge(&t, receive, buf[:n])
		_ = c.Close()
	} else {
		read = bytes.Clone(buf[:n])
	}
	if large != nil {
		largeBuffers.Put(large)
	} else {
		smallBuffers.Put(small)
	}
	if st != answered {
		// Not an answer for the lean lane: the client reads it again,
		// from the bytes read so far and then the connection.
		u, _ := httpURL(t, "http")
		r = fetch(ctx, t, u, false, nil, &replay{Conn: c, read: read, err: err})
	}
	return r, true
}

// replay is a connection whose first bytes, and the error after them, have
// been read already: its reads give them again before reading on.
type replay struct {
	net.Conn
	read []byte
	err  error
}

func (r *replay) Read(p []byte) (int, error) {
	if len(r.read) > 0 {
		n := copy(p, r.read)
		r.read = r.read[n:]
		return n, nil
	}
	if err := r.err; err != nil {
		// Once, as the connection gave it: a reset is told once,
		// then reads see the end.
		r.err = nil
		return 0, err
	}
	return r.Conn.Read(p)
}

// requestTemplate is the request fetch writes for one method, request and
// virtualhost, as net/http writes it. Without a virtualhost the Host
// header is the real server's address, put between prefix and suffix for
// each check.
type requestTemplate struct {
	prefix, suffix []byte
	perReal        bool // the Host header goes between prefix and suffix
	head           bool // the method is HEAD: the answer has no body
}

// templateKey is what shapes a check's request, as configured.
type templateKey struct{ method, request, virtualHost string }

// maxTemplates bounds the templates kept: per-real requests may make
// as many as there are reals. Beyond it checks go the client's way.
const maxTemplates = 4096

var templates struct {
	sync.RWMutex
	m map[templateKey]*requestTemplate // nil: the lean lane cannot write it
}

// requestFor is the template for c, nil when net/http would not write the
// request (fetch then gives the reason) or when too many are kept.
func requestFor(c conf.Check) *requestTemplate {
	key := templateKey{method: c.HTTPMethod, request: c.Request, virtualHost: c.VirtualHost}
	templates.RLock()
	tpl, ok := templates.m[key]
	templates.RUnlock()
	if ok {
		return tpl
	}
	tpl = makeTemplate(key)
	templates.Lock()
	defer templates.Unlock()
	if templates.m == nil {
		templates.m = make(map[templateKey]*requestTemplate)
	}
	if len(templates.m) >= maxTemplates {
		return nil
	}
	templates.m[key] = tpl
	return tpl
}

// hostMark stands for the real's address in a template's Host header.
const hostMark = "h"

// makeTemplate writes the request with net/http, as fetch and plainHTTP
// would for a real at 127.0.0.1:80 (the URL's host is not written: the
// Host header is), and cuts the Host header's value out when it is the
// real's address.
func makeTemplate(key templateKey) *requestTemplate {
	method := strings.ToUpper(key.method)
	if method == "" {
		method = http.MethodGet
	}
	u := "http://127.0.0.1:80/" + strings.TrimPrefix(key.request, "/")
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return nil
	}
	req.Host = key.virtualHost
	if req.Host == "" {
		req.Host = hostMark
	}
	req.Header.Set("User-Agent", "ldirectord")
	req.Close = true
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil
	}
	tpl := &requestTemplate{head: method == http.MethodHead}
	if key.virtualHost != "" {
		tpl.prefix = b.Bytes()
		return tpl
	}
	const line = "\r\nHost: " + hostMark + "\r\n"
	i := bytes.Index(b.Bytes(), []byte(line))
	if i < 0 || bytes.Count(b.Bytes(), []byte(line)) != 1 {
		return nil
	}
	at := i + len(line) - len(hostMark) - 2
	tpl.prefix = b.Bytes()[:at]
	tpl.suffix = b.Bytes()[at+len(hostMark):]
	tpl.perReal = true
	return tpl
}

// appendTo appends the request to the real at addr, which has no zone, to
// dst. Its Host header is perlAddr(addr), as net/http writes it: an IP
// literal is written as it is.
func (tpl *requestTemplate) appendTo(dst []byte, addr netip.Addr) []byte {
	dst = append(dst, tpl.prefix...)
	if !tpl.perReal {
		return dst
	}
	if addr.Is6() && !addr.Is4In6() {
		dst = append(dst, '[')
		dst = addr.AppendTo(dst)
		dst = append(dst, ']')
	} else {
		dst = addr.Unmap().AppendTo(dst)
	}
	return append(dst, tpl.suffix...)
}

// step is what the lean lane makes of the bytes of an answer read so far.
type step int

const (
	// needMore: all is as the lean lane reads it, and the answer goes
	// on; net/http too would read on.
	needMore step = iota
	// answered: the answer is whole, and the lean lane judges it as
	// fetch would.
	answered
	// unusual: the client must read this answer.
	unusual
)

// answer is an HTTP answer as the lean lane reads it: http.ReadResponse
// and the body that fetch reads, for the answers whose every byte they
// would take as the lean lane does. What it does not know is unusual.
type answer struct {
	head bool // the request was HEAD

	next   int // where the next line of the head, or chunk, starts
	inBody bool

	code             int // 0 until the status line is read
	status           [2]int
	http10           bool
	length           int64 // Content-Length, when hasLength
	hasLength        bool
	te, chunked      bool
	close, keepAlive bool // tokens of the Connection header

	bodyStart, bodyEnd int
}

// advance reads on in b, the answer so far (the same bytes as before, and
// maybe more); eof says the server ended the connection after them.
func (a *answer) advance(b []byte, eof bool) step {
	for !a.inBody {
		i := bytes.IndexByte(b[a.next:], '\n')
		if i < 0 {
			if eof {
				return unusual
			}
			return needMore
		}
		start, end := a.next, a.next+i+1
		// A line ends at \n; a \r before it is dropped (bufio's
		// ReadLine), any other \r is part of the line.
		line := b[start : end-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		a.next = end
		switch {
		case a.code == 0:
			if !a.statusLine(line, start) {
				return unusual
			}
		case len(line) == 0:
			a.inBody = true
			a.bodyStart = end
			if a.te && a.http10 {
				// HTTP/1.0 ignores Transfer-Encoding.
				return unusual
			}
		default:
			if !a.header(line) {
				return unusual
			}
		}
	}
	return a.body(b, eof)
}

// statusLine reads the status line as http.ReadResponse does, for
// HTTP/1.0 and 1.1 and the final answers that are not redirects.
func (a *answer) statusLine(line []byte, at int) bool {
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return false
	}
	switch string(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		a.http10 = true
	default:
		return false
	}
	status := bytes.TrimLeft(rest, " ")
	code, _, _ := bytes.Cut(status, []byte(" "))
	if len(code) != 3 || code[0] < '2' || code[0] > '9' || code[0] == '3' ||
		!isDigit(code[1]) || !isDigit(code[2]) {
		return false
	}
	a.code = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	a.status[0] = at + len(line) - len(status)
	a.status[1] = at + len(line)
	return true
}

// header reads one header line, as textproto.ReadMIMEHeader takes it, and
// the headers readTransfer reads.
func (a *answer) header(line []byte) bool {
	if line[0] == ' ' || line[0] == '\t' {
		return false // a folded line
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	key := line[:colon]
	for _, c := range key {
		if !headerKeyByte(c) {
			return false
		}
	}
	value := bytes.TrimRight(line[colon+1:], " \t")
	for _, c := range value {
		if !headerValueByte(c) {
			return false
		}
	}
	value = bytes.TrimLeft(value, " \t")
	switch {
	case asciiFold(key, "content-length"):
		if a.hasLength || len(value) == 0 || len(value) > 18 {
			return false
		}
		var n int64
		for _, c := range value {
			if !isDigit(c) {
				return false
			}
			n = n*10 + int64(c-'0')
		}
		a.length, a.hasLength = n, true
	case asciiFold(key, "transfer-encoding"):
		if a.te || !asciiFold(value, "chunked") {
			return false
		}
		a.te, a.chunked = true, true
	case asciiFold(key, "trailer"):
		return false
	case asciiFold(key, "connection"):
		for el := range bytes.SplitSeq(value, []byte(",")) {
			el = bytes.Trim(el, " \t")
			a.close = a.close || asciiFold(el, "close")
			a.keepAlive = a.keepAlive || asciiFold(el, "keep-alive")
		}
	}
	return true
}

// asciiFold reports whether b is lower, a lower-case ASCII token, in any
// case.
func asciiFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// headerKeyByte is a token byte, as textproto takes a header name.
func headerKeyByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerValueByte is a byte textproto takes in a header value: visible
// ASCII, space, tab, and any byte above ASCII.
func headerValueByte(c byte) bool {
	return c == '\t' || (c >= 0x20 && c != 0x7f)
}

// body reads on in the body. fetch reads the body of a 2xx answer to its
// end; of another it reads none, but closing it reads what the
// connection would otherwise keep (a body with a length or chunked, when
// the server does not close after the answer), which the lean lane reads
// too, to end the connection as the client does.
func (a *answer) body(b []byte, eof bool) step {
	if a.head || a.code == 204 {
		a.bodyEnd = a.bodyStart
		return answered
	}
	if a.code/100 != 2 && !a.chunked {
		closing := a.close
		if a.http10 {
			closing = a.close || !a.keepAlive
		}
		if !a.hasLength || a.length == 0 || closing {
			a.bodyEnd = a.bodyStart // not read
			return answered
		}
	}
	switch {
	case a.chunked:
		return a.chunks(b, eof)
	case a.hasLength:
		if int64(len(b)-a.bodyStart) >= a.length {
			a.bodyEnd = a.bodyStart + int(a.length)
			return answered
		}
	case eof:
		a.bodyEnd = len(b)
		return answered
	default:
		return needMore
	}
	if eof {
		return unusual
	}
	return needMore
}

// chunks reads on through the chunks of a chunked body, as net/http's
// chunked reader does, up to the last chunk and the empty line after it.
// A chunk line other than hexadecimal digits and CRLF (extensions,
// white space, a size too large for the buffer) and trailers are unusual.
func (a *answer) chunks(b []byte, eof bool) step {
	if a.next < a.bodyStart {
		a.next = a.bodyStart
	}
	for {
		size, data, ok := chunkLine(b[a.next:])
		switch {
		case !ok:
			return unusual
		case data < 0:
			if eof {
				return unusual
			}
			return needMore
		}
		end := a.next + data + size
		if end+2 > len(b) {
			if eof {
				return unusual
			}
			return needMore
		}
		if b[end] != '\r' || b[end+1] != '\n' {
			return unusual // after the data, or trailers after the last chunk
		}
		if size == 0 {
			a.bodyEnd = -1 // decoded when judged
			return answered
		}
		a.next = end + 2
	}
}

// chunkLine reads the chunk line at the start of b: the chunk's size and
// where its data starts, -1 when the line is not whole yet; ok is false
// for a line the lean lane does not read.
func chunkLine(b []byte) (size, data int, ok bool) {
	const most = 6 // hexadecimal digits: 16 MB, more than the buffer
	for i, c := range b {
		switch {
		case '0' <= c && c <= '9':
			size = size<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			size = size<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			size = size<<4 | int(c-'A'+10)
		case c == '\r' && i > 0:
			if i+1 == len(b) {
				return 0, -1, true
			}
			return size, i + 2, b[i+1] == '\n'
		default:
			return 0, 0, false
		}
		if i == most {
			return 0, 0, false
		}
	}
	return 0, -1, true
}

// bodyOf is the body of an answered answer in b. A chunked body is
// decoded in place.
func (a *answer) bodyOf(b []byte) []byte {
	if a.bodyEnd >= 0 {
		return b[a.bodyStart:a.bodyEnd]
	}
	out, at := a.bodyStart, a.bodyStart
	for {
		size, data, _ := chunkLine(b[at:])
		if size == 0 {
			return b[a.bodyStart:out]
		}
		out += copy(b[out:], b[at+data:at+data+size])
		at += data + size + 2
	}
}

// judge is fetch's verdict on the answer in b.
func (a *answer) judge(t *Target, receive *regexp.Regexp, b []byte) Result {
	status := a.reason(b)
	if a.code/100 != 2 {
		return down(status)
	}
	body := a.bodyOf(b)
	if t.Check.Receive != "" && !perlMatch(receive, body) {
		return down(fmt.Sprintf("receive /%s/ not found in %d bytes of %s body", t.Check.Receive, len(body), status))
	}
	return up(status)
}

// reason is "HTTP " and the status, made without garbage for the usual one.
func (a *answer) reason(b []byte) string {
	status := b[a.status[0]:a.status[1]]
	if string(status) == "200 OK" {
		return "HTTP 200 OK"
	}
	return "HTTP " + string(status)
}
