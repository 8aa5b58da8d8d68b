package conf

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxShown is how many problems Errors.Error writes out; the rest are
// counted in a last line, so that a file of garbage gives a screenful and
// not megabytes.
const MaxShown = 20

// maxMessage bounds one message, in bytes: a longer one keeps its head and
// its tail (where the expectation is) and says how much it left out.
const maxMessage = 512

// Error is one problem in a configuration file: where it is, which directive,
// and what is wrong, in the form
//
//	test.cf:12: checktimeout: "yes" is not a positive number of seconds
type Error struct {
	File      string
	Line      int    // 0 when the problem is not on one line (the file cannot be read)
	Directive string // "" when the line has none
	Msg       string // the value, quoted, and what was expected

	// omitted, on the last Error of an Errors, counts the problems found
	// after the parser stopped keeping them.
	omitted int
}

// Error is the problem on one line. Bytes that are not printable text (an
// escape sequence from a binary file) are written escaped, a directive
// that is not a plain word is quoted, and the whole is cut to a bounded
// length.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Directive != "" {
		b.WriteString(directiveText(e.Directive))
		b.WriteString(": ")
	}
	b.WriteString(printable(e.Msg))
	return cut(b.String(), maxMessage)
}

// Errors are the problems of one file, in line order. Parse returns them
// together so that an operator fixes a file in one pass; past a hundred it
// keeps counting but no longer keeps them.
type Errors []*Error

// Error writes the first MaxShown problems, one a line, then how many more
// there are.
func (es Errors) Error() string {
	n := min(len(es), MaxShown)
	s := make([]string, n, n+1)
	for i, e := range es[:n] {
		s[i] = e.Error()
	}
	if more := es.Count() - n; more > 0 {
		file := es[0].File
		s = append(s, fmt.Sprintf("%s: and %d more %s", file, more, plural(more, "error", "errors")))
	}
	return strings.Join(s, "\n")
}

// Count is the number of problems found, those not kept included.
func (es Errors) Count() int {
	if len(es) == 0 {
		return 0
	}
	return len(es) + es[len(es)-1].omitted
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// directiveText is a directive name as messages show it: as written when
// it is a plain word, else quoted.
func directiveText(d string) string {
	for i := 0; i < len(d); i++ {
		if c := d[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return cut(strconv.Quote(d), 80)
		}
	}
	return cut(d, 80)
}

// printable escapes, as Go quotes them, the runes of s that a terminal
// would take for control: escape sequences, NUL, invalid UTF-8.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r != ' ' && !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == ' ' || unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// cut shortens s to about max bytes, keeping its head and its tail, on rune
// boundaries, and saying how many bytes it left out.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head, tail := max*5/8, max/4
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	t := len(s) - tail
	for t < len(s) && !utf8.RuneStart(s[t]) {
		t++
	}
	return fmt.Sprintf("%s ...(%d bytes left out)... %s", s[:head], t-head, s[t:])
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Warning is something accepted that is deprecated, ignored or unlikely to
// work as meant. It has the shape of an Error.
type Warning Error

func (w Warning) String() string {
	e := Error(w)
	return e.Error()
}
