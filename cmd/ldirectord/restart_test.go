package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRestartMarker: restarting is true only for the process the marker
// names, and a marker that cannot be written is an error, not a stop.
func TestRestartMarker(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "ldirectord.test.cf.pid")
	if restarting(pidFile) {
		t.Fatal("restarting without a marker")
	}
	if err := writeMarker(restartMarker(pidFile), os.Getpid()+1); err != nil {
		t.Fatal(err)
	}
	if restarting(pidFile) {
		t.Error("restarting on a marker that names another process")
	}
	if err := writeMarker(restartMarker(pidFile), os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if !restarting(pidFile) {
		t.Error("not restarting on a marker that names this process")
	}
	link := filepath.Join(t.TempDir(), "link.restart")
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	if err := writeMarker(link, 1); err == nil {
		t.Error("a marker written through a symbolic link")
	}
}
