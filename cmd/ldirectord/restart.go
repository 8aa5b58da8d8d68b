package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/actors"
)

// A restart is a stop and a start, and the daemon that stops cannot tell
// one from the other by the signal: ldirectord restart leaves a marker
// beside the pid file, naming the daemon it restarts, before it sends
// SIGTERM, and takes it away once that daemon is gone. A daemon that
// finds the marker with its own pid leaves the kernel's sync daemons
// running for the next one to adopt (a stop stops them). A marker left by
// a restart that was killed names a process that is gone, and is ignored.

// restartMarker is the marker's path for the pid file pidFile.
func restartMarker(pidFile string) string { return pidFile + ".restart" }

// restartStop stops the daemon pid as stop does, telling it that it is
// being restarted.
func (c control) restartStop(pid int) int {
	marker := restartMarker(c.pidFile)
	if err := writeMarker(marker, pid); err != nil {
		// Only the sync daemons' restart is lost: they stop and
		// start again.
		fmt.Fprintf(c.stderr, "ldirectord: restart: %v; the sync daemons are stopped and started again\n", err)
	}
	defer os.Remove(marker)
	return c.stop(pid)
}

func writeMarker(path string, pid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("restart marker: %w", err)
	}
	_, err = f.WriteString(strconv.Itoa(pid) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restart marker %s: %w", path, err)
	}
	return nil
}

// restarting says whether the marker beside pidFile names this process.
func restarting(pidFile string) bool {
	b, err := os.ReadFile(restartMarker(pidFile))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && pid == os.Getpid()
}

// leaveSyncIfRestarting has the daemon leave its sync daemons running
// when it stops for a restart.
func leaveSyncIfRestarting(log *zap.Logger, d *actors.Daemon, pidFile string) {
	if !restarting(pidFile) {
		return
	}
	log.Info("stopping for a restart: the sync daemons are left running")
	if err := d.LeaveSyncDaemons(); err != nil {
		log.Error("restart", zap.Error(err))
	}
}
