package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse: the parser never panics and never hangs; on success its
// printed configuration reads back equal; on failure it returns no config
// and only errors that name the file and a line.
//
//	go test ./conf -run '^$' -fuzz FuzzParse -fuzztime 30s
//
// The seed corpus is testdata/*.cf and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.cf"))
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	opts := testOptions
	opts.maxReals = 300
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		cfg, err := opts.Parse("fuzz.cf", src)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Parse took %v", d)
		}
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a config with an error")
			}
			es, ok := err.(Errors)
			if !ok || len(es) == 0 {
				t.Fatalf("error %T %v is not a non-empty Errors", err, err)
			}
			for _, e := range es {
				if e.File != "fuzz.cf" || e.Line < 1 || !strings.HasPrefix(e.Error(), "fuzz.cf:") {
					t.Fatalf("error without its place: %+v", e)
				}
			}
			return
		}
		checkRoundTrip(t, cfg)
	})
}
