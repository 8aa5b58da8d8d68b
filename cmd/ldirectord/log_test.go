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
