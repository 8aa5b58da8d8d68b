package main

import (
	"fmt"
	"io"
	"os"
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
	switch cmd {
	case "status":
		if c.inv.json {
			return c.statusJSON(pid, alive, exists)
		}
		if alive {
			fmt.Fprintf(c.stderr, "ldirectord for %s is running with pid: %d\n", c.path, pid)
			// The real servers' states, when the daemon wrote them; on
			// standard error with the line above, so that what reads
			// standard output (heartbeat) sees what it did before.
			if b, err := os.ReadFile(statusFilePath(c.pidFile)); err == nil {
				c.stderr.Write(b)
			}
			return exitOK
		}
		code := exitNotRunning
		if exists {
			fmt.Fprintf(c.stderr, "ldirectord stale pid file %s for %s\n", c.pidFile, c.path)
			code = exitFailure
		}
		fmt.Fprintf(c.stdout, "ldirectord is stopped for %s\n", c.path)
		return code
	case "start":
		if alive {
			fmt.Fprintf(c.stdout, "ldirectord for %s is already running with pid: %d\n", c.path, pid)
			return exitOK
		}
		return c.start()
	case "stop":
		if !alive {
			return exitOK
		}
		return c.stop(pid)
	case "restart", "try-restart":
		if !alive && cmd == "try-restart" {
			return exitOK
		}
		if alive {
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
		if err := sendSignal(pid, syscall.SIGHUP); err != nil {
			fmt.Fprintf(c.stderr, "ldirectord: reload: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	fmt.Fprintf(c.stderr, "ldirectord: unknown command %q\n%s", cmd, usageText)
	return exitUsage
}

// stop sends SIGTERM and waits until the daemon, having left the table as
// cleanstop says and removed its pid file, is gone.
func (c control) stop(pid int) int {
	if err := sendSignal(pid, syscall.SIGTERM); err != nil {
		fmt.Fprintf(c.stderr, "ldirectord: stop: %v\n", err)
		return exitFailure
	}
	deadline := time.Now().Add(stopWait)
	for time.Now().Before(deadline) {
		if !isLdirectord(pid) {
			return exitOK
		}
		time.Sleep(50 * time.Millisecond)
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
		fmt.Fprintf(c.stderr, "ldirectord: %v\n", err)
		return exitFailure
	}
	return exitOK
}
