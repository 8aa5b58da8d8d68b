package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// daemonEnv tells a re-executed ldirectord that it is the detached daemon
// and which descriptor reports its start-up to the waiting parent.
const (
	daemonEnv     = "LDIRECTORD_DAEMON_FD"
	daemonPidFile = "LDIRECTORD_DAEMON_PIDFILE"
)

// The start-up report's words: ready, or already running (another start
// won the race) and the pid; anything else is the error.
const (
	readyWord   = "ready"
	runningWord = "already-running"
)

// detach re-executes this program as a daemon in its own session with its
// standard streams on /dev/null, and waits until it reports that it runs
// (pid file written, virtual services in the table) or why it could not
// start.
func detach(inv invocation, path, pidFile string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start-up pipe: %w", err)
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return err
	}
	defer null.Close()
	args := []string{}
	if inv.debug {
		args = append(args, "-d")
	}
	args = append(args, "--", path, "start")
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3", daemonPidFile+"="+pidFile)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start daemon: %w", err)
	}
	w.Close()
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	msg, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return fmt.Errorf("read daemon start-up: %w", err)
	}
	text := strings.TrimSpace(string(msg))
	if n, ok := strings.CutPrefix(text, runningWord+" "); ok {
		pid, _ := strconv.Atoi(n)
		return &runningError{pid: pid, path: pidFile}
	}
	switch {
	case text == readyWord:
		return nil
	case text == "":
		return fmt.Errorf("daemon (pid %d) exited during start-up; see the log", pid)
	}
	return errors.New(text)
}

// daemonChild is the detached daemon: it reports start-up through the
// descriptor its parent passed.
func daemonChild(args []string, fdText string) int {
	pidFile := os.Getenv(daemonPidFile)
	os.Unsetenv(daemonEnv)
	os.Unsetenv(daemonPidFile)
	fd, err := strconv.Atoi(fdText)
	if err != nil {
		return exitFailure
	}
	report := os.NewFile(uintptr(fd), "start-up report")
	inv, err := parseArgs(args)
	if err != nil || len(args) < 2 || pidFile == "" {
		fmt.Fprintf(report, "daemon: bad arguments %q\n", args)
		report.Close()
		return exitFailure
	}
	path := args[len(args)-2]
	return serve(inv, path, pidFile, func(err error) {
		var running *runningError
		if errors.As(err, &running) {
			fmt.Fprintf(report, "%s %d\n", runningWord, running.pid)
		} else if err != nil {
			fmt.Fprintln(report, err)
		} else {
			fmt.Fprintln(report, readyWord)
		}
		report.Close()
	})
}
