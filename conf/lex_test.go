package conf

import (
	"reflect"
	"testing"
)

func TestStripComment(t *testing.T) {
	cases := map[string]string{
		"a = b # c":         "a = b ",
		"# all":             "",
		"a = b#c":           "a = b#c",
		`a = "b # c" # d`:   `a = "b # c" `,
		`a = 'b # c'`:       `a = 'b # c'`,
		"a = don't # x":     "a = don't ",
		`a = "x" 'y # z'`:   `a = "x" 'y # z'`,
		`a = "unclosed # c`: `a = "unclosed `,
		"a = b\t#c":         "a = b\t",
	}
	for in, want := range cases {
		if got := stripComment(in); got != want {
			t.Errorf("stripComment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLexLine(t *testing.T) {
	cases := []struct {
		text string
		ok   bool
		want srcLine
	}{
		{"", false, srcLine{}},
		{"   \t ", false, srcLine{}},
		{"  # comment", false, srcLine{}},
		{"checktimeout=3", true, srcLine{name: "checktimeout", hasEq: true, value: "3"}},
		{"\tchecktimeout \t=\t 3 \t# x", true, srcLine{indent: 4, name: "checktimeout", hasEq: true, value: "3"}},
		{"  \treal = a b", true, srcLine{indent: 6, name: "real", hasEq: true, value: "a b"}},
		{"supervised", true, srcLine{name: "supervised"}},
		{"supervised yes", true, srcLine{name: "supervised", value: "yes"}},
		{"request = \"a = b\"", true, srcLine{name: "request", hasEq: true, value: `"a = b"`}},
		{"x=", true, srcLine{name: "x", hasEq: true}},
	}
	for _, tc := range cases {
		got, ok := lexLine(7, tc.text)
		if ok != tc.ok {
			t.Errorf("lexLine(%q) ok = %v", tc.text, ok)
			continue
		}
		if !ok {
			continue
		}
		tc.want.num = 7
		if got != tc.want {
			t.Errorf("lexLine(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestUnquote(t *testing.T) {
	cases := map[string]string{
		`"a b"`: "a b", `'a b'`: "a b", `"a"b"`: `a"b`, `"a'`: `"a'`, `"`: `"`, `""`: "", `a`: "a",
	}
	for in, want := range cases {
		if got := unquote(in); got != want {
			t.Errorf("unquote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokens(t *testing.T) {
	q := func(s string) token { return token{text: s, quoted: true} }
	w := func(s string) token { return token{text: s} }
	comma := token{text: ",", comma: true}
	cases := []struct {
		in   string
		want []token
		bad  string
	}{
		{`10.0.0.1:80 gate 3`, []token{w("10.0.0.1:80"), w("gate"), w("3")}, ""},
		{`a gate "/x", "y z"`, []token{w("a"), w("gate"), q("/x"), comma, q("y z")}, ""},
		{`a gate "/x","y"`, []token{w("a"), w("gate"), q("/x"), comma, q("y")}, ""},
		{`a 'say "hi"' ""`, []token{w("a"), q(`say "hi"`), q("")}, ""},
		{`a "open`, []token{w("a")}, `"open`},
		{`a "x"y`, []token{w("a"), q("x")}, "y"},
	}
	for _, tc := range cases {
		got, bad := tokens(tc.in)
		if !reflect.DeepEqual(got, tc.want) || bad != tc.bad {
			t.Errorf("tokens(%q) = %+v, %q; want %+v, %q", tc.in, got, bad, tc.want, tc.bad)
		}
	}
}

func TestMaskBits(t *testing.T) {
	good := map[string]int{"255.255.255.255": 32, "255.255.255.0": 24, "255.255.254.0": 23, "128.0.0.0": 1, "0.0.0.0": 0}
	for in, want := range good {
		if got, ok := maskBits(in); !ok || got != want {
			t.Errorf("maskBits(%q) = %d, %v", in, got, ok)
		}
		if maskText(want) != in {
			t.Errorf("maskText(%d) = %q, want %q", want, maskText(want), in)
		}
	}
	for _, in := range []string{"255.0.255.0", "255.255.255", "1.2.3.4.5", "256.0.0.0", "-1.0.0.0", "0.0.0.1", "a.b.c.d"} {
		if _, ok := maskBits(in); ok {
			t.Errorf("maskBits(%q) accepted", in)
		}
	}
}
