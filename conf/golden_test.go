package conf

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden parses every testdata/*.cf and compares the result with its
// .golden file: the warnings and the effective configuration of a good
// file, the errors of a bad one (bad-*.cf). go test -run TestGolden -update
// rewrites them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.cf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			got := goldenText(t, file)
			golden := strings.TrimSuffix(file, ".cf") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./conf -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", file, golden, lineDiff(string(want), string(got)))
			}
		})
	}
}

func goldenText(t *testing.T, file string) []byte {
	cfg, err := testOptions.Load(file)
	bad := strings.HasPrefix(filepath.Base(file), "bad-")
	if bad {
		if err == nil {
			t.Fatalf("%s parsed; a bad- file must not", file)
		}
		return []byte(err.Error() + "\n")
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var b bytes.Buffer
	for _, w := range cfg.Warnings {
		b.WriteString("# warning: " + w.String() + "\n")
	}
	b.Write(Format(cfg))
	return b.Bytes()
}

// TestRoundTrip: Parse(Format(cfg)) equals cfg for every good testdata file,
// and Format is a fixed point.
func TestRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.cf"))
	for _, file := range files {
		if strings.HasPrefix(filepath.Base(file), "bad-") {
			continue
		}
		cfg, err := testOptions.Load(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		checkRoundTrip(t, cfg)
	}
}

// checkRoundTrip fails t unless the printed configuration reads back equal.
func checkRoundTrip(t *testing.T, cfg *Config) {
	t.Helper()
	out := Format(cfg)
	back, err := testOptions.Parse(cfg.File, out)
	if err != nil {
		t.Fatalf("Format of %s does not parse back: %v\n%s", cfg.File, err, out)
	}
	back.Name = cfg.Name
	if a, b := withoutLines(cfg), withoutLines(back); !reflect.DeepEqual(a, b) {
		t.Fatalf("Format of %s reads back different:\n%s", cfg.File, lineDiff(string(Format(a)), string(Format(b))))
	}
	if again := Format(back); !bytes.Equal(again, out) {
		t.Fatalf("Format is not a fixed point for %s:\n%s", cfg.File, lineDiff(string(out), string(again)))
	}
}

// withoutLines is a copy of cfg without what a round trip may change: line
// numbers and warnings.
func withoutLines(cfg *Config) *Config {
	c := *cfg
	c.Warnings = nil
	c.Global.Defaults = settingsWithoutLines(c.Global.Defaults)
	c.Virtuals = nil
	for _, v := range cfg.Virtuals {
		w := *v
		w.Line = 0
		w.Settings = settingsWithoutLines(w.Settings)
		w.Reals = nil
		for _, r := range v.Reals {
			w.Reals = append(w.Reals, realWithoutLine(r))
		}
		c.Virtuals = append(c.Virtuals, &w)
	}
	return &c
}

func settingsWithoutLines(s Settings) Settings {
	s.Fallback = realWithoutLine(s.Fallback)
	s.Fallback6 = realWithoutLine(s.Fallback6)
	return s
}

func realWithoutLine(r *Real) *Real {
	if r == nil {
		return nil
	}
	c := *r
	c.Line = 0
	return &c
}

// lineDiff shows the lines of got that are not in want and the reverse,
// enough to see what changed.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			b.WriteString("line " + itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g + "\n")
		}
	}
	return b.String()
}

// TestRedacted: the copy hides every passwd and secret; the original keeps
// them.
func TestRedacted(t *testing.T) {
	cfg := mustParse(t, "virtual = 10.0.0.1:389\n\treal = 10.0.0.2:389 gate\n\tservice = ldap\n\tlogin = \"cn=x\"\n\tpasswd = \"pw1\"\n"+
		"virtual = 10.0.0.1:1812\n\tprotocol = udp\n\treal = 10.0.0.2:1812 gate\n\tservice = radius\n\tsecret = \"sec2\"\n")
	out := string(Format(Redacted(cfg)))
	if strings.Contains(out, "pw1") || strings.Contains(out, "sec2") || strings.Count(out, Hidden) != 2 {
		t.Errorf("Redacted shows a secret or hides the wrong number of values:\n%s", out)
	}
	if cfg.Virtuals[0].Check.Passwd != "pw1" || cfg.Virtuals[1].Check.Secret != "sec2" {
		t.Error("Redacted changed the original configuration")
	}
}
