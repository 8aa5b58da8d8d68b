package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// stopWait bounds how long stop waits for the daemon to leave the table as
// cleanstop says and exit.
const stopWait = 90 * time.Second

// control carries out a command against the daemon of one configuration.
type control struct {
	inv            invocation
	path           string
	pidFile        string
	stdout, stderr io.Writer
}

func (c control) do(cmd string) int {
	pid, alive, exists := readPid(c.pidFile)
	owner := ""
	if alive {
		owner = c.owner(pid)
	}
	switch cmd {
	case "status":
		if c.inv.json {
			return c.statusJSON(pid, alive, exists)
		}
		if alive {
			fmt.Fprintf(c.stderr, "ldirectord for %s is running with pid: %d%s\n", c.path, pid, partOf(owner))
			// The real servers' states, when the daemon wrote them; on
			// standard error with the line above, so that what reads
			// standard output (heartbeat) sees what it did before.
			if b, err := os.ReadFile(statusFilePath(c.pidFile)); err == nil && owner == "" {
				c.stderr.Write(b)
			}
			return exitOK
		}
		code := exitNotRunning
		if exists {
			fmt.Fprintf(c.stderr, "ldirectord stale pid file %s for %s%s\n", c.pidFile, c.path, staleWhy(pid))
			code = exitFailure
		}
		fmt.Fprintf(c.stdout, "ldirectord is stopped for %s\n", c.path)
		return code
	case "start":
		if alive {
			fmt.Fprintf(c.stdout, "ldirectord for %s is already running with pid: %d%s\n", c.path, pid, partOf(owner))
			return exitOK
		}
		return c.start()
	case "stop":
		if !alive {
			if exists {
				fmt.Fprintf(c.stderr, "ldirectord stale pid file %s for %s%s: nothing to stop; the file is removed\n", c.pidFile, c.path, staleWhy(pid))
				removeStale(c.pidFile)
			}
			return exitOK
		}
		if owner != "" {
			return c.refuse(cmd, pid, owner)
		}
		return c.stop(pid)
	case "restart", "try-restart":
		if !alive && cmd == "try-restart" {
			return exitOK
		}
		if alive {
			if owner != "" {
				return c.refuse(cmd, pid, owner)
			}
			if code := c.restartStop(pid); code != exitOK {
				return code
			}
		}
		return c.start()
	case "drain":
		return c.drain(alive)
	case "undrain":
		return c.undrain(alive)
	case "reload", "force-reload":
		if !alive {
			fmt.Fprintf(c.stdout, "ldirectord is stopped for %s\n", c.path)
			return exitFailure
		}
		if owner != "" {
			fmt.Fprintf(c.stdout, "ldirectord for %s runs as part of the ldirectord for %s (pid %d): reloading that one, with every configuration it executes\n", c.path, owner, pid)
		}
		if err := sendSignal(pid, syscall.SIGHUP); err != nil {
			fmt.Fprintf(c.stderr, "ldirectord: reload: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	fmt.Fprintf(c.stderr, "ldirectord: unknown command %q\n%s", cmd, usageText)
	return exitUsage
}

// owner is the configuration of the daemon pid when it serves this one
// only because an execute directive of that one names it; "" when it was
// started for this configuration, or its command line cannot be read.
func (c control) owner(pid int) string {
	name, arg := servingName(pid)
	if name == "" || name == configName(c.inv.cfgArg) || filepath.Base(arg) == filepath.Base(c.path) {
		return ""
	}
	if filepath.IsAbs(arg) {
		return arg
	}
	return name
}

func partOf(owner string) string {
	if owner == "" {
		return ""
	}
	return fmt.Sprintf(", as part of the ldirectord for %s, whose execute directive names it", owner)
}

// staleWhy says that the pid of a stale pid file, if some other process
// has it now, is left alone.
func staleWhy(pid int) string {
	if pid <= 0 || processGone(pid) {
		return ""
	}
	return fmt.Sprintf(" (pid %d is some other process, left alone)", pid)
}

// refuse explains why stop and restart leave an executed configuration
// alone: stopping it means stopping, or editing, the one that executes it.
func (c control) refuse(cmd string, pid int, owner string) int {
	fmt.Fprintf(c.stderr, "ldirectord: %s: %s is served by the ldirectord for %s (pid %d), whose execute directive names it: "+
		"stop that one, or remove the execute line from it and reload it\n", cmd, c.path, owner, pid)
	return exitFailure
}

// stop sends SIGTERM and waits until the daemon, having left the table as
// cleanstop says and removed its pid file, is gone: its lock on the pid
// file released, which the kernel does when its last thread has exited,
// and the process dead.
func (c control) stop(pid int) int {
	deadline := time.Now().Add(stopWait)
	fd, err := openPid(c.pidFile)
	switch {
	case err != nil:
		// Removed since it was read: the daemon is on its way out.
		fd = -1
	case !held(fd):
		syscall.Close(fd)
		return exitOK // gone since it was read
	default:
		defer syscall.Close(fd)
		if err := sendSignal(pid, syscall.SIGTERM); err != nil {
			fmt.Fprintf(c.stderr, "ldirectord: stop: %v\n", err)
			return exitFailure
		}
	}
	for time.Now().Before(deadline) {
		if (fd < 0 || !held(fd)) && processGone(pid) {
			return exitOK
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(c.stderr, "ldirectord: stop: pid %d did not exit within %v\n", pid, stopWait)
	return exitFailure
}

// start checks the configuration, then runs the daemon: in the foreground
// under -d, supervised = yes or systemd's notify protocol, else detached.
func (c control) start() int {
	cfg, err := loadAll(c.path)
	if err != nil {
		fmt.Fprintf(c.stderr, "ldirectord: %v\n", err)
		return exitFailure
	}
	if c.inv.debug || cfg[0].Global.Supervised || os.Getenv("NOTIFY_SOCKET") != "" {
		return serve(c.inv, c.path, c.pidFile, nil)
	}
	if err := detach(c.inv, c.path, c.pidFile); err != nil {
		var running *runningError
		if errors.As(err, &running) {
			// Another start won the race: the daemon runs, as asked.
			pid, _, _ := readPid(c.pidFile)
			fmt.Fprintf(c.stdout, "ldirectord for %s is already running with pid: %d\n", c.path, max(pid, running.pid))
			return exitOK
		}
		fmt.Fprintf(c.stderr, "ldirectord: %v\n", err)
		return exitFailure
	}
	return exitOK
}
