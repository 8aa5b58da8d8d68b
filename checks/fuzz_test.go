package checks

import (
	"bytes"
	"errors"
	"io"
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
