package conf

import (
	"strings"
)

// srcLine is one line of a configuration file that is neither blank nor a
// comment, cut into its parts.
type srcLine struct {
	num int
	// indent is the width of the leading white space, a tab counting as 4
	// spaces (ldirectord replaces each tab with 4 spaces before it looks).
	indent int
	name   string // the directive: the text up to '=' or white space
	hasEq  bool   // false for a bare word ("supervised")
	value  string // after '=', comment removed, white space trimmed
}

// isSpace is the white space of the language: what may surround '=' and
// separate the words of a value.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// splitLines cuts src into lines, dropping the '\n' and a '\r' before it.
func splitLines(src []byte) []string {
	s := string(src)
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// lexLine reads one line. ok is false for a blank or comment line. A line
// with a directive but neither '=' nor a bare word yields hasEq false and the
// rest in value.
func lexLine(num int, text string) (l srcLine, ok bool) {
	l.num = num
	i := 0
	for i < len(text) && isSpace(text[i]) {
		if text[i] == '\t' {
			l.indent += 4
		} else {
			l.indent++
		}
		i++
	}
	rest := stripComment(text[i:])
	rest = trimSpace(rest)
	if rest == "" {
		return l, false
	}
	j := 0
	for j < len(rest) && rest[j] != '=' && !isSpace(rest[j]) {
		j++
	}
	l.name = rest[:j]
	after := trimSpace(rest[j:])
	if strings.HasPrefix(after, "=") {
		l.hasEq = true
		l.value = trimSpace(after[1:])
	} else {
		l.value = after
	}
	return l, true
}

// stripComment cuts s at the first '#' that is outside quotes and starts a
// word (at the start or after white space). A quote opens a quoted part only
// when the same quote closes it later on the line; otherwise it is an
// ordinary character, so that "comment = don't # note" works.
//
// ldirectord cuts inside a virtual block at any '#', quoted or not, and not at
// all on global lines; this rule keeps both "receive = "#ok"" and trailing
// comments working everywhere.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			if j := strings.IndexByte(s[i+1:], c); j >= 0 {
				i += j + 1
			}
		case '#':
			if i == 0 || isSpace(s[i-1]) {
				return s[:i]
			}
		}
	}
	return s
}

// unquote removes one pair of enclosing quotes, "..." or '...', as
// ldirectord's /"(.*)"/ does: the first and the last character.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// token is one word of a value that has several (real, fallback).
type token struct {
	text   string
	quoted bool // was "..." or '...'; text is without the quotes
	comma  bool // a ',' between words
}

// tokens splits a value into words at white space and commas; a quoted word
// runs to the next quote of the same kind. bad is the unterminated quoted
// part or the text glued to a closing quote, "" when all is well.
func tokens(v string) (out []token, bad string) {
	i := 0
	for i < len(v) {
		c := v[i]
		switch {
		case isSpace(c):
			i++
		case c == ',':
			out = append(out, token{text: ",", comma: true})
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(v[i+1:], c)
			if j < 0 {
				return out, v[i:]
			}
			end := i + 1 + j
			out = append(out, token{text: v[i+1 : end], quoted: true})
			i = end + 1
			if i < len(v) && !isSpace(v[i]) && v[i] != ',' {
				return out, v[i:]
			}
		default:
			j := i
			for j < len(v) && !isSpace(v[j]) && v[j] != ',' {
				j++
			}
			out = append(out, token{text: v[i:j]})
			i = j
		}
	}
	return out, ""
}
