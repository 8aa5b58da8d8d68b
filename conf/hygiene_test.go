package conf

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// garbage is n bytes of lines of random bytes, escape sequences among
// them, as a binary file or a wrong file given as the configuration reads.
func garbage(n int) []byte {
	rng := rand.New(rand.NewSource(1))
	var b bytes.Buffer
	for b.Len() < n {
		switch rng.Intn(4) {
		case 0:
			b.WriteString("\x1b[2J\x1b]0;owned\x07bogus = \x1b[31mred\n")
		case 1:
			b.WriteString("checktimeout = " + strings.Repeat("x", rng.Intn(2000)) + "\n")
		default:
			line := make([]byte, 10+rng.Intn(120))
			rng.Read(line)
			b.Write(bytes.ReplaceAll(bytes.ReplaceAll(line, []byte("\n"), nil), []byte{0}, nil))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// noControl fails on a byte a terminal would act on.
func noControl(t *testing.T, what, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\n' && (c < 0x20 || c == 0x7f) {
			t.Fatalf("%s holds the raw byte %#x at %d: %q", what, c, i, s[max(0, i-40):min(len(s), i+40)])
		}
	}
}

func TestGarbageErrorsAreCappedAndQuoted(t *testing.T) {
	src := garbage(10 << 20)
	_, err := testOptions.Parse("junk.cf", src)
	if err == nil {
		t.Fatal("10 MB of garbage parsed")
	}
	text := err.Error()
	if len(text) > 20*maxMessage+200 {
		t.Errorf("the error text of 10 MB of garbage is %d bytes; want at most %d", len(text), 20*maxMessage+200)
	}
	lines := strings.Split(text, "\n")
	if len(lines) != MaxShown+1 || !strings.Contains(lines[MaxShown], "more errors") {
		t.Errorf("%d lines, the last %q; want %d errors and a count of the rest", len(lines), lines[len(lines)-1], MaxShown)
	}
	es := err.(Errors)
	if len(es) > maxKept || es.Count() < 10000 {
		t.Errorf("kept %d errors of %d; want at most %d kept and every one counted", len(es), es.Count(), maxKept)
	}
	for _, e := range es {
		if e.Line < 1 || len(e.Error()) > maxMessage+20 {
			t.Fatalf("error without its line or too long (%d bytes): %q", len(e.Error()), e.Error())
		}
	}
	noControl(t, "the error text", text)
}

func TestEscapeBytesAreQuoted(t *testing.T) {
	_, err := parse("\x1b[2Jbogus\x1b[0m = 1\nchecktimeout = \x1b]0;title\x07\n")
	if err == nil {
		t.Fatal("accepted")
	}
	noControl(t, "the error text", err.Error())
	if !strings.Contains(err.Error(), `test.cf:1: "\x1b[2Jbogus\x1b[0m": is not a directive`) {
		t.Errorf("the directive is not quoted: %s", err)
	}
}

func TestLongMessageKeepsHeadAndTail(t *testing.T) {
	lines := errorLines(t, "checktimeout = "+strings.Repeat("9x", 5000)+"\n")
	if len(lines) != 1 || len(lines[0]) > maxMessage+20 || !strings.HasPrefix(lines[0], "test.cf:1: checktimeout: \"9x9x") ||
		!strings.Contains(lines[0], "bytes left out") || !strings.HasSuffix(lines[0], "seconds") {
		t.Errorf("got %q", lines)
	}
}

func TestNulAndUnterminatedQuoteAndLongLineRefused(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{block("request = \"/in\x00dex.html\""), "test.cf:3: a NUL byte at column 16"},
		{"checktimeout = 5\x00\n", "test.cf:1: a NUL byte at column 17"},
		{block(`request = "/index.html`), `test.cf:3: request: "\"/index.html" opens a quote that the line does not close`},
		{block(`receive = 'alive`), `test.cf:3: receive: "'alive" opens a quote`},
		{"virtual = \"10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n", `test.cf:1: virtual: "\"10.0.0.1:80" opens a quote`},
		{"# " + strings.Repeat("x", MaxLineLength) + "\n", "test.cf:1: the line is 65538 bytes long"},
	} {
		lines := errorLines(t, c.src)
		if !strings.HasPrefix(strings.Join(lines, "\n"), c.want) {
			t.Errorf("%.60q:\n got %q\nwant %q...", c.src, lines, c.want)
		}
	}
	// A quote inside a value, or one that closes, is fine.
	mustParse(t, block(`request = "/index.html"`, `receive = don't`))
}

func TestWarningsAreCapped(t *testing.T) {
	src := strings.Repeat("fork = yes\n", 1000) + block()
	cfg := mustParse(t, src)
	if len(cfg.Warnings) != maxKept+1 || !strings.Contains(cfg.Warnings[maxKept].String(), "more warnings") {
		t.Errorf("%d warnings, last %v", len(cfg.Warnings), cfg.Warnings[len(cfg.Warnings)-1])
	}
}

func TestLocateSaysWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d.cf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.cf"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"loop1.cf", "loop2.cf"}, {"loop2.cf", "loop1.cf"}, {"dangling.cf", "nowhere"}} {
		if err := os.Symlink(filepath.Join(dir, l[1]), filepath.Join(dir, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{
		"d.cf":        "is a directory, not a configuration file",
		"fifo.cf":     "is a named pipe (FIFO), not a configuration file",
		"loop1.cf":    "is a loop of symbolic links",
		"dangling.cf": "is a symbolic link to nothing",
		"none.cf":     "not found",
	} {
		for _, arg := range []string{filepath.Join(dir, name), name} {
			_, _, err := Locate(arg, []string{dir})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Locate(%s): %v; want %q", arg, err, want)
			}
		}
	}
	// Load of a FIFO (put there after Locate) says so at once instead of
	// waiting for a writer.
	done := make(chan error, 1)
	go func() { _, err := Load(filepath.Join(dir, "fifo.cf")); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("Load of a FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Load of a FIFO blocks")
	}
}
