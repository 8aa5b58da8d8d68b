package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// 100,000 real servers: --check refuses them (a configuration holds at
// most conf.MaxReals, 65,536) quickly and in few words; the largest
// configuration allowed, 65,500 reals, passes --check and starts on the
// file table in bounded time and memory (the peak resident set, VmHWM,
// read from the daemon before it stops; --check's from its rusage). The
// reals have checktype = on, so that the table holds them all; the daemon
// is built without -race. About 60 s (610 MB peak, the table in 2 s, on
// an idle machine).
func TestE2EHundredThousandReals(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 100,000 reals")
	}
	e := newEnv(t)
	e.config(fastGlobals + bigVirtuals(1000, 100, 1))
	began := time.Now()
	out, errOut, code := e.ld("--check", "l.cf")
	took := time.Since(began)
	t.Logf("--check of 100,000 reals: exit %d in %v, %d bytes of output", code, took.Round(time.Millisecond), len(out)+len(errOut))
	if code != 1 || !strings.Contains(errOut, "65536") || took > 60*time.Second || len(out)+len(errOut) > 64<<10 {
		t.Errorf("--check of 100,000 reals: exit %d in %v, %d bytes; want 1, soon, a short error naming the limit:\n%s",
			code, took, len(out)+len(errOut), errOut[:min(len(errOut), 2000)])
	}
	const n, per = 655, 100
	e.config(fastGlobals + bigVirtuals(n, per, 1))
	began = time.Now()
	out, errOut, code = e.ld("--check", "l.cf")
	took = time.Since(began)
	if code != 0 {
		t.Fatalf("--check: exit %d\n%s", code, errOut[:min(len(errOut), 2000)])
	}
	// The children waited for so far are the two --checks.
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	t.Logf("--check of %d reals: %v, %d bytes out, peak RSS %d MB", n*per, took.Round(time.Millisecond), len(out), ru.Maxrss/1024)
	if took > 60*time.Second {
		t.Errorf("--check of %d reals took %v, want under 60 s", n*per, took)
	}
	if ru.Maxrss > 1<<20 { // kB
		t.Errorf("--check of %d reals peaked at %d MB resident, want under 1 GB", n*per, ru.Maxrss/1024)
	}

	// The daemon measured is built without the race detector, whose
	// shadow memory multiplies the resident set (8.9 GB measured).
	plain := filepath.Join(t.TempDir(), "ldirectord")
	if msg, err := exec.Command("go", "build", "-o", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	began = time.Now()
	start := exec.Command(plain, e.path("l.cf"), "start")
	start.Env = e.environ()
	if msg, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, msg)
	}
	e.waitText("100,000 reals in the table", func() string { return "" }, func(string) bool {
		w, err := e.weights()
		return err == nil && len(w) == n*(per+1)
	})
	took = time.Since(began)
	pid, alive, _ := readPid(e.pidFile("l.cf"))
	if !alive {
		t.Fatal("no daemon")
	}
	hwm := vmHWM(pid)
	fi, _ := os.Stat(e.table)
	t.Logf("start on %d reals: table complete in %v (%d MB file), daemon's peak RSS %d MB", n*per, took.Round(time.Millisecond), fi.Size()>>20, hwm>>20)
	if took > 90*time.Second {
		t.Errorf("the table of %d reals took %v, want under 90 s", n*per, took)
	}
	if hwm > 2<<30 {
		t.Errorf("the daemon of %d reals peaked at %d MB resident, want under 2 GB", n*per, hwm>>20)
	}
	e.mustLd("l.cf", "stop")
}

// 100 reloads in 5 s while checks run: the table never changes, the
// daemon keeps its goroutines and open files (read from its metrics and
// /proc/PID/fd before and after, once the storm has settled). About 20 s.
func TestE2ESighupStorm(t *testing.T) {
	e := newEnv(t)
	a, b := newBackend(t, "127.0.0.2"), newBackend(t, "127.0.0.3")
	metricsAddr := freeLoopback(t)
	e.config(fastGlobals + "metrics = " + metricsAddr + "\n" +
		httpVirtual("10.9.9.9:80", "", a.addr+" masq 1", b.addr+" masq 2") + bigVirtuals(10, 100, 1))
	e.mustLd("l.cf", "start")
	e.waitFor("both reals in", all(has(vip+" "+a.addr, 1), has(vip+" "+b.addr, 2)))
	pid, _, _ := readPid(e.pidFile("l.cf"))
	time.Sleep(3 * time.Second) // settled: checks of every real, a read of the table
	goroutines := func() int {
		_, v := scrapeValue(t, metricsAddr, "go_goroutines")
		return int(v)
	}
	fds := func() int { ents, _ := os.ReadDir(filepath.Join("/proc", itoa(pid), "fd")); return len(ents) }
	g0, f0 := goroutines(), fds()
	before := canonical(e.list())
	changedAt := ""
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if now := canonical(e.list()); now != before && changedAt == "" {
				changedAt = now
			}
		}
	}()
	for range 100 {
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // the reloads done, their goroutines gone
	close(stop)
	<-done
	g1, f1 := goroutines(), fds()
	reloads := strings.Count(e.log(), "reload")
	t.Logf("100 SIGHUPs in 5 s: %d log lines of reloads; goroutines %d -> %d, open files %d -> %d", reloads, g0, g1, f0, f1)
	if changedAt != "" {
		t.Errorf("the table changed during the storm:\nbefore:\n%s\nduring:\n%s", lastLines(before, 10), lastLines(changedAt, 10))
	}
	if g1 > g0+g0/10+16 {
		t.Errorf("goroutines grew from %d to %d over 100 reloads", g0, g1)
	}
	if f1 > f0+8 {
		t.Errorf("open files grew from %d to %d over 100 reloads", f0, f1)
	}
	if reloads == 0 {
		t.Errorf("no reload logged:\n%s", lastLines(e.log(), 20))
	}
	e.mustLd("l.cf", "stop")
}

// --check of files that are not configurations: the binary itself, and
// random bytes, exits 1 quickly with a bounded error that holds no raw
// control byte. About 1 s.
func TestE2ECheckOfBinaryFiles(t *testing.T) {
	e := newEnv(t)
	self, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"elf.cf": self, "random.cf": randomBytes(1 << 20)} {
		p := e.path(name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		out, errOut, code := e.ld("--check", p)
		took := time.Since(began)
		t.Logf("--check of %s (%d MB): exit %d in %v, %d bytes of output", name, len(data)>>20, code, took.Round(time.Millisecond), len(out)+len(errOut))
		if code != 1 {
			t.Errorf("--check of %s: exit %d, want 1", name, code)
		}
		if took > 20*time.Second || len(out)+len(errOut) > 64<<10 {
			t.Errorf("--check of %s: %v and %d bytes of output, want a short answer", name, took, len(out)+len(errOut))
		}
		for _, c := range out + errOut {
			if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
				t.Errorf("--check of %s printed the control byte %#x", name, c)
				break
			}
		}
	}
}

// vmHWM is the peak resident set of pid, in bytes, from /proc/PID/status.
func vmHWM(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// scrapeValue reads one unlabelled sample from the metrics at addr.
func scrapeValue(t *testing.T, addr, name string) (bool, float64) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == name {
			f, err := strconv.ParseFloat(v, 64)
			return err == nil, f
		}
	}
	t.Fatalf("no %s in the metrics at %s", name, addr)
	return false, 0
}

// randomBytes is n random bytes, NULs and escapes among them.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(7, 15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}
