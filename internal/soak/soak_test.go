package soak

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/bench"
	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// The parameters, from the environment: SOAK_TIME (default 3m), SOAK_REALS
// (10000), SOAK_INTERVAL, the checkinterval (default 5s: 2,000 checks a
// second, which `make test` can afford on a shared machine beside its
// other tests; `make soak` sets 1s), SOAK_EVERY, the sampling period
// (default a minute, or a sixth of a shorter run).
func params(t *testing.T) (total time.Duration, reals int, interval, every time.Duration) {
	dur := func(name string, def time.Duration) time.Duration {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a duration such as 1h", name, v)
		}
		return d
	}
	total = dur("SOAK_TIME", 3*time.Minute)
	interval = dur("SOAK_INTERVAL", 5*time.Second)
	every = dur("SOAK_EVERY", min(time.Minute, total/6))
	reals = 10000
	if v := os.Getenv("SOAK_REALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("SOAK_REALS=%q: want a number of at least 100", v)
		}
		reals = n
	}
	return total, reals, interval, every
}

// sample is what is measured of the daemon at one time.
type sample struct {
	at         time.Duration
	goroutines int
	fds        int
	rssKB      int
	heapBytes  int
}

func (s sample) String() string {
	return fmt.Sprintf("%8v  goroutines %6d  fds %5d  RSS %7.1f MB  heap %7.1f MB",
		s.at.Round(time.Second), s.goroutines, s.fds, float64(s.rssKB)/1024, float64(s.heapBytes)/(1<<20))
}

// measure reads the daemon five times, 100 ms apart, and keeps the
// fewest goroutines and open files it saw: the checks in flight at one
// instant hold both, and a burst of them is no leak.
func measure(pid int, metrics string) (sample, error) {
	var least sample
	for i := range 5 {
		s, err := measureOnce(pid, metrics)
		for try := 0; err != nil && try < 3; try++ {
			// A scrape can fail on a loaded machine (the inspection
			// behind it times out): try again before calling it a failure.
			time.Sleep(time.Second)
			s, err = measureOnce(pid, metrics)
		}
		if err != nil {
			return s, err
		}
		if i == 0 {
			least = s
		}
		least.goroutines, least.fds = min(least.goroutines, s.goroutines), min(least.fds, s.fds)
		least.rssKB, least.heapBytes = s.rssKB, s.heapBytes
		time.Sleep(100 * time.Millisecond)
	}
	return least, nil
}

// measureOnce reads the daemon's resident memory from /proc/PID/status,
// its open files from /proc/PID/fd, its goroutines and heap from its
// metrics.
func measureOnce(pid int, metrics string) (sample, error) {
	var s sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			s.rssKB, _ = strconv.Atoi(f[1])
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("scrape of %s: %s", metrics, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "go_goroutines":
			s.goroutines = int(f)
		case "go_memstats_heap_inuse_bytes":
			s.heapBytes = int(f)
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("scrape of %s: %w", metrics, err)
	}
	if s.goroutines == 0 {
		return s, fmt.Errorf("no go_goroutines in the scrape of %s", metrics)
	}
	return s, nil
}

// freePort is a loopback address and port nothing listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The bounds on growth, from the sample taken after the warm-up (the first
// 5 minutes, or a third of a shorter run) to the smaller of the last two:
// goroutines +10 % (at least 32), open files +10 % (at least 64), resident
// memory +25 %. The slack is for the checks in flight, each with a
// goroutine and a socket: a daemon of 10,000 reals runs on a dozen
// goroutines between them. The heap is printed, not bounded: the resident
// memory bounds what it can do.
const (
	goroutineGrowth = 0.10
	goroutineSlack  = 32
	fdGrowth        = 0.10
	fdSlack         = 64
	rssGrowth       = 0.25
)

// TestSoak runs the daemon on 10,000 reals of a farm for SOAK_TIME: every
// second the same 1 % of the reals change state (refused, then up again),
// every minute a reload adds or removes a virtual service; every SOAK_EVERY
// it prints the daemon's goroutines, open files, resident memory and heap,
// and fails on growth beyond the bounds above, on a daemon that exits, on a
// reload that is not in the table a minute later, and on a steady real
// missing from the table at the end. `make test`: 3 minutes at a
// checkinterval of 5 s, about 4 minutes in all; `make soak`: an hour at 1 s.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak test")
	}
	total, n, interval, every := params(t)
	dir := t.TempDir()
	progs, err := bench.Build(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	farm, err := bench.NewFarm(n)
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	servers := farm.Servers()
	cfg := bench.Config{PerVirtual: 100, CheckType: "connect", Interval: interval, Timeout: 3 * time.Second,
		LogFile: filepath.Join(dir, "ldirectord.log")}
	for _, s := range servers {
		cfg.Reals = append(cfg.Reals, bench.Real{Addr: s.Addr, Weight: 1})
	}
	metrics := freePort(t)
	// The table lives in memory, as the kernel's does: every write is a
	// rewrite of a megabyte.
	tableDir := dir
	if d, err := os.MkdirTemp("/dev/shm", "soak-"); err == nil {
		tableDir = d
		defer os.RemoveAll(d)
	}
	table := filepath.Join(tableDir, "ipvs.json")
	cfgPath := filepath.Join(dir, "soak.cf")
	extra := fmt.Sprintf("\nvirtual = 198.19.255.1:%d\n\treal = %s gate 1\n\tchecktype = connect\n\tprotocol = tcp\n", farm.Port, servers[0].Addr)
	write := func(withExtra bool) {
		text := fmt.Sprintf("metrics = %s\n", metrics) + cfg.Text()
		if withExtra {
			text += extra
		}
		if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(false)
	out, err := os.Create(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(progs.Ours, cfgPath, "start")
	cmd.Env = append(os.Environ(), "LDIRECTORD_TABLE=file:"+table, "LDIRECTORD_PIDDIR="+dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	pid := cmd.Process.Pid
	tail := func() string {
		b, _ := os.ReadFile(cfg.LogFile)
		o, _ := os.ReadFile(out.Name())
		ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		return string(o) + strings.Join(ls[max(0, len(ls)-30):], "\n")
	}
	weights := func() map[string]int {
		tb, err := tablefile.Open(table)
		if err != nil {
			return nil
		}
		vs, err := tb.List()
		if err != nil {
			return nil
		}
		return kerneltest.Weights(vs)
	}

	// Start: every real in the table.
	began := time.Now()
	for {
		if w := weights(); len(w) >= n+n/100 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the daemon exited at start: %v\n%s", err, tail())
		case <-time.After(500 * time.Millisecond):
		}
		if time.Since(began) > 3*time.Minute {
			t.Fatalf("the table of %d reals not complete after 3 minutes: %d entries\n%s", n, len(weights()), tail())
		}
	}
	t.Logf("%d reals in the table in %v (checkinterval %v); soak for %v, a sample every %v", n, time.Since(began).Round(time.Second), interval, total, every)

	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	flappers := map[int]bool{}
	for len(flappers) < n/100 {
		flappers[1+rnd.IntN(n-1)] = true // servers[0] is the extra virtual's too
	}
	warmup := min(5*time.Minute, total/3)
	var samples []sample
	var base *sample
	start := time.Now()
	flip, sampleAt, reloadAt := time.NewTicker(time.Second), time.NewTicker(every), time.NewTicker(time.Minute)
	defer flip.Stop()
	defer sampleAt.Stop()
	defer reloadAt.Stop()
	end := time.After(total)
	withExtra, reloads, flips := false, 0, 0
	s0, err := measure(pid, metrics)
	if err != nil {
		t.Fatalf("measure: %v\n%s", err, tail())
	}
	t.Logf("%v", s0)
loop:
	for {
		select {
		case err := <-exited:
			t.Fatalf("the daemon exited after %v: %v\n%s", time.Since(start), err, tail())
		case <-end:
			break loop
		case <-flip.C:
			for i := range flappers {
				s := servers[i]
				if s.State() == bench.Up {
					err = s.Refuse()
				} else {
					err = s.Recover()
				}
				if err != nil {
					t.Fatalf("flap %s: %v", s.Addr, err)
				}
			}
			flips++
		case <-reloadAt.C:
			// The reload before this one is in the table by now.
			key := fmt.Sprintf("ipv4/tcp/198.19.255.1:%d", farm.Port)
			if _, in := weights()[key]; reloads > 0 && in != withExtra {
				t.Errorf("a minute after reload %d, the extra virtual in the table: %v, want %v", reloads, in, withExtra)
			}
			withExtra = !withExtra
			write(withExtra)
			if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			reloads++
			farm.Reset() // the farm's record of arrivals would grow for ever
		case <-sampleAt.C:
			s, err := measure(pid, metrics)
			if err != nil {
				t.Fatalf("measure: %v\n%s", err, tail())
			}
			s.at = time.Since(start)
			samples = append(samples, s)
			t.Logf("%v", s)
			if base == nil && s.at >= warmup-time.Second {
				b := s
				base = &b
			}
		}
	}
	// The flappers up again, the table has them all: nothing was lost.
	for i := range flappers {
		if servers[i].State() != bench.Up {
			if err := servers[i].Recover(); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(30*time.Second + 2*interval)
	for {
		w := weights()
		missing := 0
		for _, s := range servers {
			if w[fmt.Sprintf("ipv4/tcp/%s %s", virtualOf(s.Addr.String(), servers, farm.Port), s.Addr)] != 1 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d reals not in the table at weight 1 after the soak, all of them up\n%s", missing, tail())
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("%d flips of %d reals, %d reloads", flips, len(flappers), reloads)
	if base == nil || len(samples) < 2 || samples[len(samples)-1].at <= base.at {
		t.Fatalf("too few samples to judge growth: %v (warm-up %v)", samples, warmup)
	}
	last := samples[len(samples)-1]
	if prev := samples[len(samples)-2]; prev.at > base.at {
		// The smaller of the last two: one sample can catch a burst.
		last.goroutines, last.fds, last.rssKB = min(last.goroutines, prev.goroutines), min(last.fds, prev.fds), min(last.rssKB, prev.rssKB)
	}
	t.Logf("after the warm-up %v, at %v", base, last)
	if bound := base.goroutines + max(int(float64(base.goroutines)*goroutineGrowth), goroutineSlack); last.goroutines > bound {
		t.Errorf("goroutines grew from %d to %d, beyond %d", base.goroutines, last.goroutines, bound)
	}
	if bound := base.fds + max(int(float64(base.fds)*fdGrowth), fdSlack); last.fds > bound {
		t.Errorf("open files grew from %d to %d, beyond %d", base.fds, last.fds, bound)
	}
	if bound := int(float64(base.rssKB) * (1 + rssGrowth)); last.rssKB > bound {
		t.Errorf("resident memory grew from %d kB to %d kB, beyond %d kB (+%.0f %%)", base.rssKB, last.rssKB, bound, 100*rssGrowth)
	}
}

// virtualOf is the virtual service bench.Config puts the real at addr in.
func virtualOf(addr string, servers []*bench.Server, port uint16) string {
	for i, s := range servers {
		if s.Addr.String() == addr {
			return fmt.Sprintf("198.18.%d.%d:%d", (i/100)/250, (i/100)%250+1, port)
		}
	}
	return ""
}
