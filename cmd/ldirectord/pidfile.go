package main

// A daemon holds the pid file of each configuration it serves, the one it
// was started with and those its execute directives name, for as long as
// it runs: open, with an exclusive flock(2). The lock, not the pid written
// in the file, is how a command tells a live daemon of ours from a process
// that reuses the pid of a stale file; and since the kernel lets go of the
// lock only when the daemon's last thread is gone, it is also what stop
// waits for. A configuration thus has one daemon, whichever way it was
// started.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// pidLock is a pid file this process holds.
type pidLock struct {
	path string
	fd   int // a raw descriptor: no finalizer may close it and drop the lock
}

// runningError says that a daemon already holds the pid file.
type runningError struct {
	pid  int
	path string
}

func (e *runningError) Error() string {
	if e.pid > 0 {
		return fmt.Sprintf("ldirectord is already running with pid %d (pid file %s)", e.pid, e.path)
	}
	return fmt.Sprintf("ldirectord is already running (pid file %s)", e.path)
}

// lockTries and lockPause bound how long a start waits for a lock: a
// command that reads the pid file holds a shared lock for a moment.
const (
	lockTries = 20
	lockPause = 10 * time.Millisecond
)

// claimPidFile takes the pid file at path for this process and writes its
// pid there; a runningError when a daemon holds it. The file is opened as
// openOwn does: never through a symbolic link.
func claimPidFile(path string) (*pidLock, error) {
	for attempt := 0; attempt < 5; attempt++ {
		fd, err := openOwn(path, syscall.O_RDWR|syscall.O_CREAT, 0o644)
		if err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
		if err := lockWait(fd); err != nil {
			pid := pidIn(fd)
			syscall.Close(fd)
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &runningError{pid: pid, path: path}
			}
			return nil, fmt.Errorf("lock pid file %s: %w", path, err)
		}
		// Between open and lock the path may have been removed (by a
		// daemon that stopped, or a command clearing a stale file).
		if !names(path, fd) {
			syscall.Close(fd)
			continue
		}
		b := []byte(strconv.Itoa(os.Getpid()) + "\n")
		err = syscall.Ftruncate(fd, 0)
		if err == nil {
			_, err = syscall.Pwrite(fd, b, 0)
		}
		if err != nil {
			os.Remove(path)
			syscall.Close(fd)
			return nil, fmt.Errorf("write pid file %s: %w", path, err)
		}
		return &pidLock{path: path, fd: fd}, nil
	}
	return nil, fmt.Errorf("pid file %s: another process keeps replacing it", path)
}

func lockWait(fd int) error {
	var err error
	for i := 0; i < lockTries; i++ {
		if err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		time.Sleep(lockPause)
	}
	return err
}

// names reports whether path is still the file open at fd.
func names(path string, fd int) bool {
	var a, b syscall.Stat_t
	return syscall.Lstat(path, &a) == nil && syscall.Fstat(fd, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// held reports whether a daemon holds the lock of the file open at fd.
func held(fd int) bool {
	err := syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// pidIn is the pid written in the file open at fd, 0 if none.
func pidIn(fd int) int {
	b := make([]byte, 32)
	n, _ := syscall.Pread(fd, b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:max(n, 0)])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// openPid opens the pid file at path to read it and watch its lock.
func openPid(path string) (int, error) {
	return syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
}

// readPid returns the pid in the pid file, whether a daemon of ours holds
// it (a pid file that no daemon holds is stale, whatever runs with the pid
// written in it), and whether the file exists at all.
func readPid(path string) (pid int, alive, exists bool) {
	fd, err := openPid(path)
	if errors.Is(err, syscall.ENOENT) {
		return 0, false, false
	}
	if err != nil {
		return 0, false, true // a symbolic link, unreadable: no daemon of ours
	}
	defer syscall.Close(fd)
	alive, pid = held(fd), pidIn(fd)
	// A daemon that has just taken the lock writes its pid next.
	for i := 0; alive && pid == 0 && i < 50; i++ {
		time.Sleep(lockPause)
		alive, pid = held(fd), pidIn(fd)
	}
	if pid == 0 {
		alive = false
	}
	return pid, alive, true
}

// removeStale removes the pid file at path if no daemon holds it.
func removeStale(path string) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			os.Remove(path)
		}
		return
	}
	defer syscall.Close(fd)
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil && names(path, fd) {
		os.Remove(path)
	}
}

// remove removes the pid file if it is still this one, and keeps the lock
// until the process is gone: that is when stop returns.
func (l *pidLock) remove() {
	if names(l.path, l.fd) {
		os.Remove(l.path)
	}
}

// release removes the pid file and lets go of it.
func (l *pidLock) release() {
	l.remove()
	syscall.Close(l.fd)
}

// processGone reports whether pid has exited: no such process, or one
// that is dead and waits only to be reaped.
func processGone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}

// servingName is the name of the configuration that the daemon pid was
// started with, as its command line says; "" when it cannot be read.
func servingName(pid int) (name, arg string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "", ""
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if len(args) < 2 {
		return "", ""
	}
	inv, err := parseArgs(args[1:])
	if err != nil || inv.command != "start" {
		return "", ""
	}
	return configName(inv.cfgArg), inv.cfgArg
}

// pidFiles are the pid files a daemon holds.
type pidFiles struct {
	main     *pidLock
	executed map[string]*pidLock // by path
}

// executedPidFile is the pid file of cfg, which an execute directive of
// the configuration of the pid file main names: the same file as when cfg
// is started on its own.
func executedPidFile(main string, cfg *conf.Config) string {
	return filepath.Join(filepath.Dir(main), "ldirectord."+configName(cfg.File)+".pid")
}

// claim takes the pid files of the configurations that cfgs execute (all
// but the first) which p does not hold yet. undo gives those back, for a
// reload that fails after.
func (p *pidFiles) claim(cfgs []*conf.Config) (undo func(), err error) {
	if p.executed == nil {
		p.executed = map[string]*pidLock{}
	}
	var added []string
	undo = func() {
		for _, path := range added {
			p.executed[path].release()
			delete(p.executed, path)
		}
	}
	for _, c := range cfgs[1:] {
		path := executedPidFile(p.main.path, c)
		if path == p.main.path {
			undo()
			return nil, fmt.Errorf("execute %s: its pid file would be %s, the one of the configuration that executes it: give it another name", c.File, path)
		}
		if p.executed[path] != nil {
			continue
		}
		l, err := claimPidFile(path)
		if err != nil {
			undo()
			var re *runningError
			if errors.As(err, &re) {
				return nil, fmt.Errorf("execute %s: %v: a configuration is served by one daemon; stop that one first", c.File, err)
			}
			return nil, fmt.Errorf("execute %s: %w", c.File, err)
		}
		p.executed[path] = l
		added = append(added, path)
	}
	return undo, nil
}

// keep lets go of the pid files of the executed configurations that cfgs
// no longer name.
func (p *pidFiles) keep(cfgs []*conf.Config) {
	want := map[string]bool{}
	for _, c := range cfgs[1:] {
		want[executedPidFile(p.main.path, c)] = true
	}
	for path, l := range p.executed {
		if !want[path] {
			l.release()
			delete(p.executed, path)
		}
	}
}

// remove removes every pid file at the daemon's exit; the locks go with
// the process.
func (p *pidFiles) remove() {
	for _, l := range p.executed {
		l.remove()
	}
	p.main.remove()
}

func sendSignal(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		return fmt.Errorf("signal %v: no pid", sig)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal %v to pid %d: %w", sig, pid, err)
	}
	return nil
}

// paths are the pid files held: the daemon's own first.
func (p *pidFiles) paths() []string {
	out := []string{p.main.path}
	for path := range p.executed {
		out = append(out, path)
	}
	return out
}
