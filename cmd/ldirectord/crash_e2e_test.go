package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// foreground is a daemon run as `ldirectord l.cf start` under supervised
// = yes: in the foreground, so that the test holds its process from the
// first instruction and can kill it at any point, its log on stdout, in a
// file of its own per run.
type foreground struct {
	cmd  *exec.Cmd
	out  string
	done chan struct{}
}

func (e *env) foreground(name string) *foreground {
	e.t.Helper()
	f := &foreground{out: e.path(name), done: make(chan struct{})}
	out, err := os.Create(f.out)
	if err != nil {
		e.t.Fatal(err)
	}
	f.cmd = exec.Command(binary, e.path("l.cf"), "start")
	f.cmd.Env = e.environ()
	f.cmd.Stdout, f.cmd.Stderr = out, out
	if err := f.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { f.cmd.Wait(); out.Close(); close(f.done) }()
	e.t.Cleanup(f.kill)
	return f
}

// kill is kill -9, and waits for the process to be gone.
func (f *foreground) kill() {
	f.cmd.Process.Kill()
	<-f.done
}

func (f *foreground) log() string { b, _ := os.ReadFile(f.out); return string(b) }

// changes counts the changes the daemon logged writing the table.
func (f *foreground) changes() int { return strings.Count(f.log(), "\tipvs change\t") }

// bigVirtuals is n virtual services of per reals each with checktype =
// on: a table of n*per destinations that needs no check, so that every
// write of the file table is long, weight w for every real.
func bigVirtuals(n, per, w int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "virtual = %s:80\n\tchecktype = on\n\tprotocol = tcp\n\tscheduler = wrr\n", bigVirtual(i))
		for j := range per {
			fmt.Fprintf(&b, "\treal = %s:80 masq %d\n", bigReal(i, j), w)
		}
	}
	return b.String()
}

// bigVirtual is the address of the i-th virtual of bigVirtuals (up to
// 2,500), bigReal that of its j-th real (up to 250).
func bigVirtual(i int) string { return fmt.Sprintf("10.20.%d.%d", i/250, i%250+1) }
func bigReal(i, j int) string { return fmt.Sprintf("10.%d.%d.%d", 21+i/250, i%250, j+1) }

// presence watches the table until stopped and records every key of keys
// that was missing from it after it first appeared, and how many reads of
// the file table failed.
type presence struct {
	mu       sync.Mutex
	seen     map[string]bool
	vanished map[string]int
	badReads int
	reads    int
	stop     chan struct{}
	done     chan struct{}
}

func (e *env) watchPresence(keys ...string) *presence {
	p := &presence{seen: map[string]bool{}, vanished: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			vs, err := e.read()
			p.mu.Lock()
			p.reads++
			if err != nil {
				p.badReads++
			} else {
				w := kerneltest.Weights(vs)
				for _, k := range keys {
					if _, ok := w[k]; ok {
						p.seen[k] = true
					} else if p.seen[k] {
						p.vanished[k]++
					}
				}
			}
			p.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	e.t.Cleanup(p.end)
	return p
}

func (p *presence) end() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// healthyRealNeverLost fails the test for every watched key that left
// the table after it first appeared, or a read of the table that failed.
func (p *presence) healthyRealNeverLost(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.vanished) > 0 {
		t.Errorf("healthy reals left the table (reads that missed them: %v)", p.vanished)
	}
	if p.badReads > 0 {
		t.Errorf("%d of %d reads of the file table failed: a kill left it unreadable", p.badReads, p.reads)
	}
}

// waitFull waits for the table of the configuration: the checked virtual
// with its healthy reals, and every big destination at weight w.
func (e *env) waitFull(what string, n, per, w int, keys ...string) time.Duration {
	e.t.Helper()
	began := time.Now()
	e.waitFor(what, func(m map[string]int) bool {
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				return false
			}
		}
		for i := range n {
			for j := range per {
				if m[fmt.Sprintf("ipv4/tcp/%s:80 %s:80", bigVirtual(i), bigReal(i, j))] != w {
					return false
				}
			}
		}
		return true
	})
	return time.Since(began)
}

// kill -9 of the daemon at random points of its life, each followed by a
// restart on the same table: during start-up (while it writes 10,000
// destinations), in the middle of the writes a flapping real causes, in
// the middle of a reload that changes every weight. A restart after a
// kill of a daemon that had the table in step makes no change at all; a
// healthy real is never out of the table once in; the file table is
// never unreadable. Then an operator's ipvsadm -C and hand edits (a
// service removed, a weight changed) are put right. About 60 s with
// -race.
func TestE2EKill9AndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("long: kills and restarts a daemon of 10,000 destinations")
	}
	e := newEnv(t)
	healthy := newBackend(t, "127.0.0.2")
	flapping := newBackend(t, "127.0.0.3")
	const n, per = 100, 100
	config := func(w int) {
		e.config("supervised = yes\n" + fastGlobals +
			httpVirtual("10.9.9.9:80", "", healthy.addr+" masq 1", flapping.addr+" masq 1") + bigVirtuals(n, per, w))
	}
	config(1)
	healthyKey, flappingKey := vip+" "+healthy.addr, vip+" "+flapping.addr
	watch := e.watchPresence(healthyKey)
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	run := 0
	next := func() *foreground { run++; return e.foreground(fmt.Sprintf("run%d.log", run)) }

	// The first start, timed, then kills during start-up.
	d := next()
	full := e.waitFull("the first start", n, per, 1, healthyKey, flappingKey)
	// The log trails the table: wait for it, which also shows that the
	// count counts.
	e.waitText("the first start's changes logged", func() string { return fmt.Sprint(d.changes()) },
		func(s string) bool { return d.changes() >= n*(per+1)+3 })
	t.Logf("first start: the table of %d destinations complete in %v, %d changes", n*per+2, full.Round(time.Millisecond), d.changes())
	// As after a reboot the table starts empty: each start writes it all.
	for i := range 3 {
		d.kill()
		if err := os.Remove(e.table); err != nil {
			t.Fatal(err)
		}
		d = next()
		at := time.Duration(rnd.Int64N(int64(full)))
		time.Sleep(at)
		d.kill()
		killed := d.changes()
		d = next()
		took := e.waitFull("after a kill during start-up", n, per, 1, healthyKey, flappingKey)
		t.Logf("start-up kill %d at %v, %d changes logged before it; the next daemon complete in %v", i+1, at.Round(time.Millisecond), killed, took.Round(time.Millisecond))
		if took > 10*time.Second {
			t.Logf("slow start:\n%s", milestones(d.log()))
		}
	}
	// The file table was emptied by hand: what the watch saw is no loss.
	watch.end()
	watch = e.watchPresence(healthyKey)

	// A kill of a daemon in step with the table, and a restart: not one
	// change.
	time.Sleep(2 * time.Second)
	d.kill()
	d = next()
	e.waitFull("after a kill in step", n, per, 1, healthyKey, flappingKey)
	time.Sleep(4 * time.Second) // checks of every real, a read of the table
	if c := d.changes(); c != 0 {
		t.Errorf("a restart after kill -9 with nothing changed made %d changes:\n%s", c, d.log())
	}

	// Kills in the middle of the writes of a flapping real: each flip is a
	// rewrite of 10,000 destinations.
	stopFlap := make(chan struct{})
	var flapWG sync.WaitGroup
	flapWG.Add(1)
	go func() {
		defer flapWG.Done()
		up := true
		for {
			select {
			case <-stopFlap:
				if !up {
					flapping.up()
				}
				return
			case <-time.After(300 * time.Millisecond):
			}
			if up {
				flapping.down()
			} else {
				flapping.up()
			}
			up = !up
		}
	}()
	for i := range 3 {
		// Once the daemon writes (its first change logged), at a random
		// point of the writes that follow.
		e.waitText("a write of the flapping real", func() string { return fmt.Sprint(d.changes()) },
			func(string) bool { return d.changes() > 0 })
		time.Sleep(time.Duration(rnd.Int64N(int64(time.Second))))
		d.kill()
		t.Logf("mid-write kill %d: %d changes logged before it", i+1, d.changes())
		d = next()
	}
	close(stopFlap)
	flapWG.Wait()
	e.waitFull("after kills mid-write", n, per, 1, healthyKey, flappingKey)

	// Kills in the middle of a reload that changes every weight: the
	// restarted daemon, on the new configuration, finishes the job.
	for i, w := range []int{2, 3} {
		time.Sleep(time.Second)
		config(w)
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		at := time.Duration(rnd.Int64N(int64(500 * time.Millisecond)))
		time.Sleep(at)
		d.kill()
		t.Logf("mid-reload kill %d at %v: %d changes logged before it", i+1, at.Round(time.Millisecond), d.changes())
		d = next()
		took := e.waitFull("after a kill mid-reload", n, per, w, healthyKey, flappingKey)
		t.Logf("the restarted daemon completed the reload in %v: %d changes", took.Round(time.Millisecond), d.changes())
		if took > 10*time.Second {
			t.Logf("slow:\n%s", milestones(d.log()))
		}
	}

	// An operator's ipvsadm -C, then hand edits.
	time.Sleep(time.Second)
	tb, err := tablefile.Open(e.table)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := tb.List()
	if err != nil {
		t.Fatal(err)
	}
	watch.end() // the table is emptied by hand now
	for _, v := range vs {
		if err := tb.DelService(v.Service); err != nil {
			t.Fatal(err)
		}
	}
	took := e.waitFull("ipvsadm -C put right", n, per, 3, healthyKey, flappingKey)
	t.Logf("ipvsadm -C put right in %v", took.Round(time.Millisecond))
	vs, _ = tb.List()
	var big kernel.Virtual
	for _, v := range vs {
		if v.Service.Addr.String() == bigVirtual(7) {
			big = v
		}
	}
	if err := tb.DelService(big.Service); err != nil {
		t.Fatal(err)
	}
	edited := big.Destinations[0]
	edited.Weight = 9
	svc0 := vs[0].Service
	for _, v := range vs {
		if v.Service.Addr.String() == bigVirtual(0) {
			svc0 = v.Service
			edited = v.Destinations[0]
			edited.Weight = 9
		}
	}
	if err := tb.UpdateDestination(svc0, edited); err != nil {
		t.Fatal(err)
	}
	took = e.waitFull("hand edits put right", n, per, 3, healthyKey, flappingKey)
	t.Logf("a removed service and a changed weight put right in %v", took.Round(time.Millisecond))
	if !strings.Contains(d.log(), "ipvs table changed under the daemon; put right") {
		t.Errorf("the repair of hand edits was not logged as such:\n%s", lastLines(d.log(), 20))
	}
	watch.healthyRealNeverLost(t)
	d.kill()
	// A kill in the middle of a write leaves the new file unfinished beside
	// the table, which it never replaced.
	leftovers, _ := filepath.Glob(e.table + ".tmp*")
	t.Logf("kills in the middle of a write of the file (its temporary file left behind): %d", len(leftovers))
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// milestones are the lines of a daemon's log other than its changes and
// its checks' verdicts, for a test that took long to say why.
func milestones(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "\tipvs change\t") && !strings.Contains(l, "\treal server ") {
			out = append(out, l)
		}
	}
	return lastLines(strings.Join(out, "\n"), 40)
}
