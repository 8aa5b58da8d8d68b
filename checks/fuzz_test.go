package checks

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"testing"
	"unicode/utf8"
)

// FuzzMatchLines checks the simpletcp answer reader against a plain
// reference: split the whole answer after each newline and match each
// line. Seeds are in testdata/fuzz/FuzzMatchLines.
func FuzzMatchLines(f *testing.F) {
	f.Add([]byte("hello\nload 0.5\n"), `^load \d`)
	f.Add([]byte("no newline at end"), `end$`)
	f.Add([]byte("\r\n\r\n"), `^\r$`)
	f.Add([]byte(""), ``)
	f.Fuzz(func(t *testing.T, answer []byte, pattern string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		n, line, err := matchLines(re, bytes.NewReader(answer))
		if n > len(answer) {
			t.Fatalf("read %d bytes of a %d-byte answer", n, len(answer))
		}
		var want []byte
		for _, l := range bytes.SplitAfter(answer, []byte("\n")) {
			if len(l) > 0 && perlMatch(re, l) {
				want = l
				break
			}
		}
		switch {
		case errors.Is(err, errTooLong):
			if len(answer) <= maxRead {
				t.Fatalf("answer of %d bytes called too long", len(answer))
			}
		case err != nil && err != io.EOF:
			t.Fatalf("unexpected error %v", err)
		case !bytes.Equal(line, want):
			t.Fatalf("matched line %q, reference %q", line, want)
		case line == nil && n != len(answer):
			t.Fatalf("no match after %d of %d bytes", n, len(answer))
		}
	})
}

// FuzzQuote checks that a server's answer shown in a reason is one
// printable, bounded line whatever the server sent.
func FuzzQuote(f *testing.F) {
	f.Add([]byte("220 mx.example.org ESMTP\r\n"))
	f.Add([]byte("\x00\xff\xfe garbage \x1b[2J\x00\r\n\x80\x81"))
	f.Fuzz(func(t *testing.T, b []byte) {
		q := quote(b)
		if !utf8.ValidString(q) || bytes.ContainsAny([]byte(q), "\r\n\x00\x1b") {
			t.Fatalf("quote(%q) = %q, not one printable line", b, q)
		}
		if len(q) > 4*80+16 {
			t.Fatalf("quote(%q) is %d bytes long", b, len(q))
		}
	})
}

// FuzzLeanAnswer checks the lean lane's reading of an HTTP answer against
// the client's: the answer arrives in two parts (the first ending at
// split), then the connection ends (eof) or stays open with nothing more.
// Where the lane reads more, the client must need more too; where it
// judges, the client must give the same status and, for a 2xx answer, the
// same body, without needing more, also to close it. Seeds are in
// testdata/fuzz/FuzzLeanAnswer.
func FuzzLeanAnswer(f *testing.F) {
	for _, s := range []string{
		okAnswer,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nok",
		"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy",
		"HTTP/1.1 204 No Content\nX: y\n\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), false, uint16(len(s)/2), true)
		f.Add([]byte(s), true, uint16(len(s)), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, head bool, split uint16, eof bool) {
		if len(b) > leanBufferSize {
			return
		}
		k := int(split) % (len(b) + 1)
		a := answer{head: head}
		seen, ended := k, false
		got := a.advance(b[:k], false)
		if got == needMore {
			seen, ended = len(b), eof
			got = a.advance(b, eof)
		}
		if got == needMore && ended {
			t.Fatalf("lean lane waits for more after the end of %q", b)
		}
		ref := clientReads(b[:seen], ended, head)
		switch got {
		case needMore:
			if !ref.waited {
				t.Fatalf("lean lane waits on %q; the client does not: %+v", b[:seen], ref)
			}
		case answered:
			if ref.waited || ref.err != nil || ref.closeErr != nil {
				t.Fatalf("lean lane judges %q; the client fails: %+v", b[:seen], ref)
			}
			var body []byte
			if a.code/100 == 2 {
				body = a.bodyOf(bytes.Clone(b[:seen]))
			}
			if r := a.reason(b); r != ref.reason || ref.code/100 == 2 && !bytes.Equal(body, ref.body) {
				t.Fatalf("answer %q: lean lane %q with body %q; client %q with %q", b[:seen], r, body, ref.reason, ref.body)
			}
		}
	})
}

// errMore is what a connection with nothing more to read yet says.
var errMore = errors.New("nothing more yet")

// clientRead is what fetch makes of an answer: the reason, the status
// code, the body it reads (of a 2xx answer) and the errors on the way,
// the error closing the body, and whether it read past what was sent
// while the connection was open: a real connection would have waited.
type clientRead struct {
	reason        string
	code          int
	body          []byte
	err, closeErr error
	waited        bool
}

// clientReads reads the answer b, then the end or errMore, as the client
// does.
func clientReads(b []byte, eof bool, head bool) clientRead {
	end := errMore
	if eof {
		end = io.EOF
	}
	method := http.MethodGet
	if head {
		method = http.MethodHead
	}
	c := &scripted{data: b, end: end}
	resp, err := readAnswer(c, &http.Request{Method: method})
	if err != nil {
		return clientRead{err: err, waited: c.waited}
	}
	out := clientRead{reason: "HTTP " + resp.Status, code: resp.StatusCode}
	if out.code/100 == 2 {
		out.body, out.err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	}
	out.closeErr = resp.Body.Close()
	out.waited = c.waited
	return out
}

// scripted is a connection that reads data, then end; waited tells a
// read past data that did not end it.
type scripted struct {
	net.Conn
	data   []byte
	end    error
	waited bool
}

func (s *scripted) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		s.waited = s.waited || s.end != io.EOF
		return 0, s.end
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

func (s *scripted) Close() error { return nil }
