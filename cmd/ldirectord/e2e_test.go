package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const vip = "ipv4/tcp/10.9.9.9:80"

func TestE2EStartStatusStop(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 2"))

	if out, _, code := e.ld("l.cf", "status"); code != 3 || !strings.Contains(out, "ldirectord is stopped for") {
		t.Fatalf("status before start: exit %d %q, want 3 and stopped", code, out)
	}
	e.mustLd("l.cf", "start")
	pid, alive, _ := readPid(e.pidFile("l.cf"))
	if !alive {
		t.Fatalf("start returned but no live daemon in the pid file %s", e.pidFile("l.cf"))
	}
	e.waitFor("real in the table", has(vip+" "+b.addr, 2))
	if _, errOut, code := e.ld("l.cf", "status"); code != 0 || !strings.Contains(errOut, "is running with pid") {
		t.Errorf("status while running: exit %d %q, want 0 and running", code, errOut)
	}
	if out, _, code := e.ld("l.cf", "start"); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("second start: exit %d %q, want 0 saying it is already running", code, out)
	}
	if p, _, _ := readPid(e.pidFile("l.cf")); p != pid {
		t.Errorf("second start replaced the daemon: pid %d, was %d", p, pid)
	}
	e.mustLd("l.cf", "stop")
	if isLdirectord(pid) {
		t.Errorf("daemon %d still runs after stop returned", pid)
	}
	e.waitFor("cleanstop removed the virtual", lacks(vip))
	if _, _, code := e.ld("l.cf", "status"); code != 3 {
		t.Errorf("status after stop: exit %d, want 3", code)
	}
	if _, _, code := e.ld("l.cf", "stop"); code != 0 {
		t.Errorf("stop when stopped: exit %d, want 0", code)
	}
}

func TestE2EStalePidFileReplaced(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	// A pid that is surely not an ldirectord: this test process.
	e.write("ldirectord.l.cf.pid", "1\n")
	if _, _, code := e.ld("l.cf", "status"); code != 1 {
		t.Errorf("status with a stale pid file: exit %d, want 1", code)
	}
	e.mustLd("l.cf", "start")
	if _, alive, _ := readPid(e.pidFile("l.cf")); !alive {
		t.Fatal("stale pid file not replaced by the daemon's")
	}
	e.mustLd("l.cf", "stop")
}

func TestE2EStartErrorComesBack(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config(`logfile = "/nonexistent-dir/ld.log"` + "\n" + fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	_, errOut, code := e.ld("l.cf", "start")
	if code != 1 || !strings.Contains(errOut, "logfile") {
		t.Errorf("start with an unwritable logfile: exit %d %q, want 1 naming the logfile", code, errOut)
	}
	e.config("virtual = 10.9.9.9:80\n\treal = nonsense\n")
	_, errOut, code = e.ld("l.cf", "start")
	if code != 1 || !strings.Contains(errOut, "l.cf:") {
		t.Errorf("start with a bad configuration: exit %d %q, want 1 with file:line errors", code, errOut)
	}
	if _, _, code := e.ld("l.cf", "status"); code != 3 {
		t.Errorf("status after failed starts: exit %d, want 3", code)
	}
}

func TestE2ECheckFlagAndUsage(t *testing.T) {
	e := newEnv(t)
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", "127.0.0.2:80 masq 1"))
	out, _, code := e.ld("--check", "l.cf")
	if code != 0 || !strings.Contains(out, "virtual = 10.9.9.9:80") {
		t.Errorf("--check: exit %d, output %q", code, out)
	}
	e.config("virtual = 10.9.9.9:80\n\tbogus = 1\n")
	_, errOut, code := e.ld("-t", "l.cf")
	if code != 1 || !strings.Contains(errOut, "l.cf:3: bogus") { // line 1 is the logfile
		t.Errorf("-t of a bad file: exit %d, stderr %q; want 1 with l.cf:3: bogus", code, errOut)
	}
	if out, _, code := e.ld("--version"); code != 0 || !strings.Contains(out, "Linux Director") {
		t.Errorf("--version: exit %d %q", code, out)
	}
	if out, _, code := e.ld("-h"); code != 0 || !strings.Contains(out, "Usage:") {
		t.Errorf("-h: exit %d %q", code, out)
	}
	if _, errOut, code := e.ld("l.cf", "frobnicate"); code != 2 || !strings.Contains(errOut, "Usage:") {
		t.Errorf("unknown command: exit %d %q, want 2 and usage", code, errOut)
	}
}

func TestE2EFallbackAndFallbackCommand(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	b.down()
	script := e.write("fb.sh", "#!/bin/sh\necho \"$@\" >> "+e.path("fb.out")+"\n")
	os.Chmod(script, 0o755)
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "fallback = 127.0.0.1:80 masq\nfallbackcommand = "+script, b.addr+" masq 3"))
	e.mustLd("l.cf", "start")
	e.waitFor("fallback while the real is down", all(has(vip+" 127.0.0.1:80", 1), lacks(vip+" "+b.addr)))
	e.waitText("fallbackcommand start", e.file("fb.out"), func(s string) bool { return s == "start 10.9.9.9:80 tcp\n" })
	b.up()
	e.waitFor("real back, fallback out", all(has(vip+" "+b.addr, 3), lacks(vip+" 127.0.0.1:80")))
	e.waitText("fallbackcommand stop", e.file("fb.out"), func(s string) bool { return strings.HasSuffix(s, "stop 10.9.9.9:80 tcp\n") })
	b.healthy.Store(false) // answers, but not with "alive"
	e.waitFor("fallback again", all(has(vip+" 127.0.0.1:80", 1), lacks(vip+" "+b.addr)))
	e.mustLd("l.cf", "stop")
}

func TestE2EQuiescentFailureCountMonitorFile(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config(fastGlobals + "quiescent = yes\n" + httpVirtual("10.9.9.9:80", "failurecount = 3\nmonitorfile = "+e.path("mon.log"), b.addr+" masq 4"))
	e.mustLd("l.cf", "start")
	e.waitFor("real up", has(vip+" "+b.addr, 4))
	b.healthy.Store(false)
	e.waitFor("real quiescent", has(vip+" "+b.addr, 0))
	mon := e.file("mon.log")()
	lines := strings.Split(strings.TrimSpace(mon), "\n")
	downs := 0
	for i := len(lines) - 1; i >= 0 && strings.Contains(lines[i], "[down]"); i-- {
		downs++
	}
	if downs < 3 {
		t.Errorf("quiescent after %d failed checks, want failurecount = 3:\n%s", downs, mon)
	}
	re := regexp.MustCompile(`^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] \[\d+\] 127\.0\.0\.2 \d+ \[(up|down)\] \S`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("monitorfile line %q lacks the [time] [pid] real port [status] message layout", l)
		}
	}
	b.healthy.Store(true)
	e.waitFor("real back at its weight", has(vip+" "+b.addr, 4))
	e.mustLd("l.cf", "stop")
}

func TestE2ECheckTypes(t *testing.T) {
	e := newEnv(t)
	combined := newBackend(t, "127.0.0.2")
	e.config(fastGlobals +
		httpVirtual("10.9.9.1:80", "checktype = on", "127.0.0.9:80 masq 1") +
		httpVirtual("10.9.9.2:80", "checktype = off", combined.addr+" masq 1") +
		httpVirtual("10.9.9.3:80", "checktype = 2", combined.addr+" masq 1"))
	e.mustLd("l.cf", "start")
	e.waitFor("on in, off out, combined in", all(
		has("ipv4/tcp/10.9.9.1:80 127.0.0.9:80", 1),
		has("ipv4/tcp/10.9.9.2:80", -1), lacks("ipv4/tcp/10.9.9.2:80 "+combined.addr),
		has("ipv4/tcp/10.9.9.3:80 "+combined.addr, 1)))
	deadline := time.Now().Add(30 * time.Second)
	for combined.conns.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	conns, reqs := combined.conns.Load(), combined.requests.Load()
	if reqs < 1 || conns < 2*reqs {
		t.Errorf("checktype = 2: %d connections, %d HTTP requests; want two connects per negotiate", conns, reqs)
	}
	// A connect check passes whatever the body says; the negotiate round
	// takes the real out.
	combined.healthy.Store(false)
	e.waitFor("negotiate round fails", lacks("ipv4/tcp/10.9.9.3:80 "+combined.addr))
	e.mustLd("l.cf", "stop")
}

func TestE2EReload(t *testing.T) {
	e := newEnv(t)
	b2, b3, b4 := newBackend(t, "127.0.0.2"), newBackend(t, "127.0.0.3"), newBackend(t, "127.0.0.4")
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b2.addr+" masq 1", b3.addr+" masq 1") +
		httpVirtual("10.9.9.8:80", "", b4.addr+" masq 1"))
	e.mustLd("l.cf", "start")
	e.waitFor("first configuration", all(has(vip+" "+b2.addr, 1), has(vip+" "+b3.addr, 1), has("ipv4/tcp/10.9.9.8:80 "+b4.addr, 1)))

	// b2 unchanged, b3 weight 5, b4 moves in, the second virtual goes, a
	// third comes.
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b2.addr+" masq 1", b3.addr+" masq 5", b4.addr+" masq 2") +
		httpVirtual("10.9.9.7:80", "", b2.addr+" masq 1"))
	e.mustLd("l.cf", "reload")
	e.waitFor("reloaded configuration", all(has(vip+" "+b2.addr, 1), has(vip+" "+b3.addr, 5), has(vip+" "+b4.addr, 2),
		lacks("ipv4/tcp/10.9.9.8:80"), has("ipv4/tcp/10.9.9.7:80 "+b2.addr, 1)))

	// A broken file is refused and the running configuration stays.
	e.config(fastGlobals + "virtual = 10.9.9.9:80\n\treal = nonsense\n")
	pid, _, _ := readPid(e.pidFile("l.cf"))
	if err := sendSignal(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	e.waitText("refusal logged", e.log, func(s string) bool { return strings.Contains(s, "reload refused") })
	if w, _ := e.weights(); !has(vip+" "+b3.addr, 5)(w) || !has("ipv4/tcp/10.9.9.7:80 "+b2.addr, 1)(w) {
		t.Errorf("table changed after a refused reload: %v", w)
	}
	e.mustLd("l.cf", "force-reload")
	e.mustLd("l.cf", "stop")
}

func TestE2EAutoReloadAndCallback(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	script := e.write("cb.sh", "#!/bin/sh\necho \"$@\" >> "+e.path("cb.out")+"\n")
	os.Chmod(script, 0o755)
	globals := fastGlobals + "autoreload = yes\ncallback = " + script + "\n"
	e.config(globals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "start")
	e.waitFor("first configuration", has(vip+" "+b.addr, 1))
	time.Sleep(1100 * time.Millisecond) // a newer mtime, whatever the file system's resolution
	tmp := e.write("l.cf.new", "logfile = \""+e.path("ld.log")+"\"\n"+globals+httpVirtual("10.9.9.9:80", "", b.addr+" masq 7"))
	if err := os.Rename(tmp, e.path("l.cf")); err != nil {
		t.Fatal(err)
	}
	e.waitFor("reloaded on its own", has(vip+" "+b.addr, 7))
	e.waitText("callback run with the configuration name", e.file("cb.out"), func(s string) bool { return strings.HasPrefix(s, "l.cf\n") })
	e.mustLd("l.cf", "stop")
}

func TestE2ERestartAdoptsTableAndCleanstopNo(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config(fastGlobals + "cleanstop = no\n" + httpVirtual("10.9.9.9:80", "", b.addr+" masq 3"))
	e.mustLd("l.cf", "start")
	e.waitFor("real up", has(vip+" "+b.addr, 3))
	before, changed := e.restartWatched()
	if changed != "" {
		t.Errorf("the table changed during a restart that changes nothing:\nbefore:\n%s\nduring:\n%s", before, changed)
	}
	if after := canonical(e.list()); after != before {
		t.Errorf("restart changed the table:\nbefore %s\nafter %s", before, after)
	}
	e.mustLd("l.cf", "stop")
	if w, _ := e.weights(); !has(vip+" "+b.addr, 3)(w) {
		t.Errorf("cleanstop = no: table after stop %v, want it left as it was", w)
	}
	if _, _, code := e.ld("l.cf", "try-restart"); code != 0 {
		t.Errorf("try-restart of a stopped daemon: exit %d, want 0", code)
	}
	if _, _, code := e.ld("l.cf", "status"); code != 3 {
		t.Errorf("try-restart started a stopped daemon")
	}
}

func TestE2EMaintenanceDir(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	os.Mkdir(e.path("maint"), 0o755)
	e.config(fastGlobals + "maintenancedir = " + e.path("maint") + "\n" + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "start")
	e.waitFor("real up", has(vip+" "+b.addr, 1))
	e.write("maint/127.0.0.2", "")
	e.waitFor("real in maintenance", lacks(vip+" "+b.addr))
	os.Remove(e.path("maint/127.0.0.2"))
	e.waitFor("real back", has(vip+" "+b.addr, 1))
	e.mustLd("l.cf", "stop")
}

func TestE2EExecuteAndForegroundDebug(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.write("other.cf", fastGlobals+httpVirtual("10.9.9.5:80", "", b.addr+" masq 1"))
	e.config(fastGlobals + "execute = other.cf\n" + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	cmd := exec.Command(binary, "-d", e.path("l.cf"), "start")
	cmd.Env = e.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	e.waitFor("both configurations served", all(has(vip+" "+b.addr, 1), has("ipv4/tcp/10.9.9.5:80 "+b.addr, 1)))
	if _, errOut, code := e.ld("l.cf", "status"); code != 0 {
		t.Errorf("status of a -d daemon: exit %d %s", code, errOut)
	}
	// Without its execute directive, the other configuration stops.
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "reload")
	e.waitFor("executed configuration gone", all(has(vip+" "+b.addr, 1), lacks("ipv4/tcp/10.9.9.5:80")))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var all []string
	for l := range lines {
		all = append(all, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("-d daemon exit: %v", err)
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"real server up", "ipvs change", "stopping on signal", "other.cf"} {
		if !strings.Contains(text, want) {
			t.Errorf("-d output lacks %q:\n%s", want, text)
		}
	}
	if w, _ := e.weights(); len(w) != 0 {
		t.Errorf("table after stop: %v, want empty (cleanstop)", w)
	}
}

func TestE2EEmailAlert(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	// The smtp directive takes a host only: the server listens on port 25
	// of an address of its own.
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", "127.0.0.25:25"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on 127.0.0.25:25 for the SMTP server: %v", err)
	}
	mails := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); serveSMTP(c, mails) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	e.config(fastGlobals + "emailalert = ops@example.com\nemailalertfrom = lb@example.com\nsmtp = 127.0.0.25\n" +
		httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	e.mustLd("l.cf", "start")
	e.waitFor("real up", has(vip+" "+b.addr, 1))
	b.healthy.Store(false)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-mails:
			if strings.Contains(m, "Subject: Deleted real server: "+b.addr) && strings.Contains(m, "RCPT TO:<ops@example.com>") {
				e.mustLd("l.cf", "stop")
				return
			}
		case <-deadline:
			t.Fatalf("no alert mail for the failed real\nlog:\n%s", e.log())
		}
	}
}

func serveSMTP(c net.Conn, mails chan<- string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(l string) { c.Write([]byte(l + "\r\n")) }
	say("220 test")
	var msg strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case cmd == "DATA":
			say("354 go on")
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			mails <- msg.String()
			say("250 ok")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			msg.WriteString(line)
			say("250 ok")
		}
	}
}

func TestE2ESupervisedLogsToStdout(t *testing.T) {
	e := newEnv(t)
	b := newBackend(t, "127.0.0.2")
	e.config("supervised = yes\n" + fastGlobals + httpVirtual("10.9.9.9:80", "", b.addr+" masq 1"))
	cmd := exec.Command(binary, e.path("l.cf"), "start")
	cmd.Env = e.environ()
	var out strings.Builder
	var mu sync.Mutex
	cmd.Stdout = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.waitFor("real up", has(vip+" "+b.addr, 1))
	e.mustLd("l.cf", "stop")
	if err := cmd.Wait(); err != nil {
		t.Errorf("supervised daemon exit: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(out.String(), "real server up") {
		t.Errorf("supervised = yes did not log to stdout:\n%s", out.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestCheckCommand: --check prints the effective configuration with every
// passwd and secret hidden and its warnings on stderr, and exits 1 with
// every error, each naming file and line.
func TestCheckCommand(t *testing.T) {
	e := newEnv(t)
	e.config("checkcount = 2\nvirtual = 127.0.0.1:3306\n\treal = 127.0.0.2:3306 gate\n\tservice = mysql\n" +
		"\tlogin = \"ldirectord\"\n\tpasswd = \"s3cret-pw\"\n\trequest = \"SELECT 1\"\n" +
		"virtual = 127.0.0.1:1812\n\tprotocol = udp\n\treal = 127.0.0.2:1812 gate\n\tservice = radius\n\tsecret = \"radius-key\"\n")
	out, errOut, code := e.ld("--check", "l.cf")
	if code != 0 {
		t.Fatalf("--check: exit %d\n%s", code, errOut)
	}
	for _, secret := range []string{"s3cret-pw", "radius-key"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("--check printed %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, `passwd = "<hidden>"`) || !strings.Contains(out, `secret = "<hidden>"`) || !strings.Contains(out, "service = mysql") {
		t.Errorf("--check output lacks the hidden passwd and secret or the service:\n%s", out)
	}
	if !strings.Contains(errOut, "warning: ") || !strings.Contains(errOut, "checkcount") {
		t.Errorf("--check did not warn about checkcount on stderr: %q", errOut)
	}

	// config puts a logfile line first: the errors are on lines 2 and 4.
	e.config("checktimeout = yes\nvirtual = 127.0.0.1:80\n\treal = 127.0.0.2:80 gaet\n")
	_, errOut, code = e.ld("-t", "l.cf")
	if code != 1 || !strings.Contains(errOut, "l.cf:2: checktimeout") || !strings.Contains(errOut, "l.cf:4: real") {
		t.Errorf("--check of a bad file: exit %d, stderr %q; want 1 and both errors with their lines", code, errOut)
	}
}
