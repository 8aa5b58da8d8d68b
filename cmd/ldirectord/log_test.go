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

// A symbolic link planted at the log file's path, at start or after a
// rotation, is never followed: the file it points to stays as it was.
func TestLogFileRefusesPlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ld.log")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	cfg := &conf.Config{Global: conf.Global{LogFile: path}}
	if _, _, err := newLogger(false, cfg); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("start with a symlink as the log file: %v, want it refused", err)
	}
	os.Remove(path)

	log, closeLog, err := newLogger(false, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	log.Info("before rotation")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	log.Info("after the symlink was planted")
	log.Info("and again")
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the file the planted symlink names was written: %q", b)
	}
	b, _ := os.ReadFile(path + ".1")
	if got := string(b); !strings.Contains(got, "after the symlink was planted") || !strings.Contains(got, "and again") ||
		strings.Count(got, "cannot be opened again") != 1 || !strings.Contains(got, "symbolic link") {
		t.Errorf("the file held open holds %q; want the lines, and once why the path was not opened", got)
	}
}

// A log file in a directory every user may write to is refused unless the
// directory is sticky; in a sticky one, a file another user owns is.
func TestLogFileInWorldWritableDirectory(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	sticky := filepath.Join(dir, "sticky")
	for _, d := range []string{open, sticky} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if _, _, err := newLogger(false, &conf.Config{Global: conf.Global{LogFile: filepath.Join(open, "ld.log")}}); err == nil ||
		!strings.Contains(err.Error(), "writable by every user and not sticky") {
		t.Errorf("log file in a world-writable directory: %v, want it refused", err)
	}
	_, closeLog, err := newLogger(false, &conf.Config{Global: conf.Global{LogFile: filepath.Join(sticky, "ld.log")}})
	if err != nil {
		t.Fatalf("log file in a sticky directory: %v", err)
	}
	closeLog()
	if os.Geteuid() == 0 {
		planted := filepath.Join(sticky, "planted.log")
		if err := os.WriteFile(planted, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(planted, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, _, err := newLogger(false, &conf.Config{Global: conf.Global{LogFile: planted}}); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Errorf("a log file another user put in a sticky directory: %v, want it refused", err)
		}
	}
}
