package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
)

func TestLoggerToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ld.log")
	cfg := &conf.Config{Name: "x.cf", Global: conf.Global{LogFile: path}}
	log, closeLog, err := newLogger(false, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("real server down", zap.String("real", "127.0.0.2:80"))
	log.Debug("not at info level")
	closeLog()
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "real server down") || !strings.Contains(string(b), `"real": "127.0.0.2:80"`) {
		t.Errorf("logfile lacks the message with its fields:\n%s", b)
	}
	if strings.Contains(string(b), "not at info level") {
		t.Errorf("debug message written without -d:\n%s", b)
	}
}

func TestLoggerRefusesBadTargets(t *testing.T) {
	for _, target := range []string{"/nonexistent-dir/ld.log", "local9"} {
		cfg := &conf.Config{Global: conf.Global{LogFile: target}}
		if _, _, err := newLogger(false, cfg); err == nil {
			t.Errorf("logfile %q accepted", target)
		}
	}
}

// After the log file is renamed (logrotate without copytruncate) or
// removed, the next line goes to a new file at the configured path.
func TestLoggerReopensRotatedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ld.log")
	cfg := &conf.Config{Global: conf.Global{LogFile: path}}
	log, closeLog, err := newLogger(false, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		return string(b)
	}

	log.Info("before rotation")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	log.Info("after rotation")
	if got := read(path + ".1"); !strings.Contains(got, "before rotation") || strings.Contains(got, "after rotation") {
		t.Errorf("rotated file holds %q, want only the line from before the rotation", got)
	}
	if got := read(path); !strings.Contains(got, "after rotation") || strings.Contains(got, "before rotation") {
		t.Errorf("new log file holds %q, want only the line from after the rotation", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	log.Info("after removal")
	if got := read(path); !strings.Contains(got, "after removal") {
		t.Errorf("log file after removal holds %q, want the new line", got)
	}

	// A file put in place under the same name (logrotate's create) is
	// written to as well.
	if err := os.Rename(path, path+".2"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("created by logrotate\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	log.Info("into the created file")
	if got := read(path); !strings.HasPrefix(got, "created by logrotate\n") || !strings.Contains(got, "into the created file") {
		t.Errorf("created log file holds %q, want its own line then ours", got)
	}
}
