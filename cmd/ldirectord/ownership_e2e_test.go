package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The daemon of l.cf, which executes other.cf, owns other.cf too: status
// of other.cf says it runs as part of it, start says it already runs, stop
// refuses and explains; the executed virtual is never out of the table.
// A daemon started for other.cf first keeps it: l.cf then cannot start.
func TestE2EExecutedConfigurationHasOneOwner(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(func() { e.ld("other.cf", "stop") })
	b := newBackend(t, "127.0.0.2")
	const otherVip = "ipv4/tcp/10.9.9.5:80"
	other := fmt.Sprintf("logfile = %q\n", e.path("other.log")) + fastGlobals + httpVirtual("10.9.9.5:80", "", b.addr+" masq 1")
	e.write("other.cf", other)
	e.config(fastGlobals + "execute = other.cf\n" + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "start")
	e.waitFor("both configurations served", all(has(vip+" "+b.addr, 1), has(otherVip+" "+b.addr, 1)))
	parent, _, _ := readPid(e.pidFile("l.cf"))

	// The executed virtual must stay in the table whatever is asked of
	// other.cf.
	stop := make(chan struct{})
	var gone string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if w, err := e.weights(); err == nil && !has(otherVip+" "+b.addr, 1)(w) && gone == "" {
				gone = fmt.Sprint(w)
			}
		}
	}()

	pidText := strconv.Itoa(parent)
	if _, errOut, code := e.ld("other.cf", "status"); code != 0 || !strings.Contains(errOut, "running with pid: "+pidText) ||
		!strings.Contains(errOut, "as part of the ldirectord for "+e.path("l.cf")) {
		t.Errorf("status of the executed configuration: exit %d %q; want 0, running as part of l.cf's pid %d", code, errOut, parent)
	}
	if out, _, code := e.ld("other.cf", "start"); code != 0 || !strings.Contains(out, "already running with pid: "+pidText) {
		t.Errorf("start of the executed configuration: exit %d %q; want 0, already running with pid %d", code, out, parent)
	}
	if _, errOut, code := e.ld("other.cf", "stop"); code != 1 || !strings.Contains(errOut, "execute") || !strings.Contains(errOut, "l.cf") {
		t.Errorf("stop of the executed configuration: exit %d %q; want 1 and why", code, errOut)
	}
	if _, _, code := e.ld("other.cf", "restart"); code != 1 {
		t.Errorf("restart of the executed configuration: exit %d, want 1", code)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if gone != "" {
		t.Errorf("the executed virtual left the table: %s", gone)
	}
	if pid, alive, _ := readPid(e.pidFile("l.cf")); !alive || pid != parent {
		t.Errorf("the daemon of l.cf is no longer pid %d: %d alive %v", parent, pid, alive)
	}

	// Dropping the execute line gives other.cf up: it may then be started
	// on its own, and l.cf may not take it back while that one runs.
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "reload")
	e.waitText("other.cf given up", func() string { _, _, code := e.ld("other.cf", "status"); return strconv.Itoa(code) },
		func(s string) bool { return s == "3" })
	e.mustLd("other.cf", "start")
	own, _, _ := readPid(e.pidFile("other.cf"))
	if own == parent || own == 0 {
		t.Fatalf("other.cf started on its own has pid %d (l.cf's is %d)", own, parent)
	}
	e.config(fastGlobals + "execute = other.cf\n" + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "reload")
	e.waitText("reload refused", e.log, func(s string) bool {
		return strings.Contains(s, "reload refused") && strings.Contains(s, "already running with pid "+strconv.Itoa(own))
	})
	e.mustLd("l.cf", "stop")
	if _, errOut, code := e.ld("l.cf", "start"); code != 1 || !strings.Contains(errOut, "execute") || !strings.Contains(errOut, "already running") {
		t.Errorf("start of l.cf while other.cf runs on its own: exit %d %q; want 1 and why", code, errOut)
	}
	if w, _ := e.weights(); !has(otherVip+" "+b.addr, 1)(w) {
		t.Errorf("other.cf's virtual after l.cf's failed start: %v", w)
	}
	e.mustLd("other.cf", "stop")
	if !processGone(own) {
		t.Errorf("other.cf's daemon %d runs after stop returned", own)
	}
}

// A stale pid file that names some other process whose command line
// holds "ldirectord" (a tail -f of the log, a sleep so named): status and
// stop leave that process alone and say the file is stale.
func TestE2EStalePidFileNamingAnotherProcess(t *testing.T) {
	e := newEnv(t)
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", "127.0.0.2:80 masq 1"))
	e.write("ldirectord.log", "")
	sleeper := exec.Command("sleep", "300")
	sleeper.Args[0] = "ldirectord"
	tail := exec.Command("tail", "-f", e.path("ldirectord.log"))
	for _, cmd := range []*exec.Cmd{sleeper, tail} {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		pid := cmd.Process.Pid
		e.write("ldirectord.l.cf.pid", fmt.Sprintf("%d\n", pid))
		_, errOut, code := e.ld("l.cf", "status")
		if code != 1 || !strings.Contains(errOut, "stale pid file") || !strings.Contains(errOut, "left alone") {
			t.Errorf("%s: status: exit %d %q; want 1 and a stale pid file", cmd.Args[0], code, errOut)
		}
		_, errOut, code = e.ld("l.cf", "stop")
		if code != 0 || !strings.Contains(errOut, "stale pid file") {
			t.Errorf("%s: stop: exit %d %q; want 0 and a stale pid file", cmd.Args[0], code, errOut)
		}
		select {
		case err := <-exited:
			exited <- err // for the clean-up
			t.Errorf("%s (pid %d), named by a stale pid file, was stopped: %v", cmd.Args[0], pid, err)
		case <-time.After(300 * time.Millisecond):
		}
		if _, err := os.Stat(e.pidFile("l.cf")); !os.IsNotExist(err) {
			t.Errorf("stop left the stale pid file: %v", err)
		}
	}
}

// A symbolic link planted as the pid file is not followed: start refuses
// and the file it names is untouched.
func TestE2EPidFileSymlinkRefused(t *testing.T) {
	e := newEnv(t)
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", "127.0.0.2:80 masq 1"))
	victim := e.write("victim", "precious\n")
	if err := os.Symlink(victim, e.pidFile("l.cf")); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := e.ld("l.cf", "start"); code != 1 || !strings.Contains(errOut, "symbolic link") {
		t.Errorf("start with a symlink as its pid file: exit %d %q; want 1 and why", code, errOut)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the file the planted pid file names was written: %q", b)
	}
}

// Starts at the same time: one daemon, and every start exits 0 as the
// manual says, the losers saying that it already runs.
func TestE2EStartsAtOnce(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	const n = 4
	type result struct {
		out  string
		code int
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binary, e.path("l.cf"), "start")
			cmd.Env = e.environ()
			out, _ := cmd.CombinedOutput()
			results[i] = result{string(out), cmd.ProcessState.ExitCode()}
		}()
	}
	wg.Wait()
	pid, alive, _ := readPid(e.pidFile("l.cf"))
	if !alive {
		t.Fatalf("no daemon after %d starts: %+v", n, results)
	}
	for i, r := range results {
		if r.code != 0 || r.out != "" && !strings.Contains(r.out, "already running with pid: "+strconv.Itoa(pid)) {
			t.Errorf("start %d: exit %d %q; want 0, silent or already running with pid %d", i, r.code, r.out, pid)
		}
	}
	e.waitFor("real in the table", has(vip+" "+b.addr, 1))
	e.mustLd("l.cf", "stop")
	// stop returns once the process is gone, not only its pid file.
	if !processGone(pid) {
		t.Errorf("daemon %d still runs after stop returned", pid)
	}
}

// A reload of 10 MB of garbage is refused with a short error, in a log
// line of bounded length, without the daemon's memory growing with it.
func TestE2EReloadOfGarbageIsBounded(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "start")
	e.waitFor("real in the table", has(vip+" "+b.addr, 1))
	pid, _, _ := readPid(e.pidFile("l.cf"))
	var junk strings.Builder
	for i := 0; junk.Len() < 10<<20; i++ {
		fmt.Fprintf(&junk, "\x1b[31mbogus%d = \x00%s\n", i, strings.Repeat("z", i%300))
	}
	logBefore := len(e.log())
	e.write("l.cf", junk.String())
	e.mustLd("l.cf", "reload")
	text := e.waitText("refusal logged", e.log, func(s string) bool { return strings.Contains(s, "reload refused") })
	added := text[logBefore:]
	if len(added) > 32<<10 {
		t.Errorf("the refusal of 10 MB of garbage wrote %d bytes of log; want at most 32 KiB", len(added))
	}
	if strings.ContainsAny(added, "\x1b\x00") {
		t.Errorf("raw escape or NUL bytes in the log")
	}
	if !strings.Contains(added, "more errors") {
		t.Errorf("the refusal does not count the errors it leaves out:\n%.2000s", added)
	}
	hwm := peakRSS(t, pid)
	t.Logf("peak RSS of the daemon after a reload of 10 MB of garbage: %d MiB", hwm>>20)
	if hwm > 200<<20 {
		t.Errorf("peak RSS %d MiB after a reload of 10 MB; want at most 200 MiB (a -race build; 333 MiB before errors were capped)", hwm>>20)
	}
	if w, _ := e.weights(); !has(vip+" "+b.addr, 1)(w) {
		t.Errorf("table after the refused reload: %v", w)
	}
	e.mustLd("l.cf", "stop")
}

// peakRSS is the VmHWM of pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
