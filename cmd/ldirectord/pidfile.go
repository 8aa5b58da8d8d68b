package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// readPid returns the pid in the pid file, whether that process is a live
// ldirectord, and whether the file exists at all.
func readPid(path string) (pid int, alive, exists bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false, true
	}
	return pid, isLdirectord(pid), true
}

// isLdirectord reports whether pid is a running (not zombie) ldirectord,
// so that a pid reused by another program makes the pid file stale.
func isLdirectord(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmd, []byte("ldirectord"))
}

// createPidFile writes this process's pid to path, created exclusively; a
// stale file (no such ldirectord running) is replaced.
func createPidFile(path string) error {
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "%d\n", os.Getpid())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
				return fmt.Errorf("write pid file %s: %w", path, err)
			}
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create pid file %s: %w", path, err)
		}
		if pid, alive, _ := readPid(path); alive {
			return fmt.Errorf("ldirectord is already running with pid %d (pid file %s)", pid, path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale pid file %s: %w", path, err)
		}
	}
	return fmt.Errorf("create pid file %s: another process keeps creating it", path)
}

// removePidFile removes path if it still names this process.
func removePidFile(path string) {
	if pid, _, _ := readPid(path); pid == os.Getpid() {
		os.Remove(path)
	}
}

func sendSignal(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal %v to pid %d: %w", sig, pid, err)
	}
	return nil
}
