package conf

import (
	"fmt"
	"strings"
)

// Error is one problem in a configuration file: where it is, which directive,
// and what is wrong, in the form
//
//	test.cf:12: checktimeout: "yes" is not a positive number of seconds
type Error struct {
	File      string
	Line      int    // 0 when the problem is not on one line (the file cannot be read)
	Directive string // "" when the line has none
	Msg       string // the value, quoted, and what was expected
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Directive != "" {
		b.WriteString(e.Directive)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are all the problems of one file, in line order. Parse returns them
// together so that an operator fixes a file in one pass.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
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
