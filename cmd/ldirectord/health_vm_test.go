package main

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/ldirectord-go/ldirectord/internal/ipvsadm"
	"github.com/ldirectord-go/ldirectord/internal/vm"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// The health extensions (rise, slowstart, failopen, flapdamping) against
// the real kernel: what the daemon decides is read back with ipvsadm -Ln
// over time. Each test runs the same real servers under a virtual with the
// extension and under one without it, so that it fails when the extension
// does nothing.

// ipvsadmTable reads the kernel's table with ipvsadm -Ln, flattened as
// kerneltest.Weights does.
func ipvsadmTable(t *testing.T) map[string]int {
	t.Helper()
	out, err := exec.Command("/usr/sbin/ipvsadm", "-Ln").Output()
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v", err)
	}
	vs, err := ipvsadm.Parse(string(out))
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v\n%s", err, out)
	}
	return kerneltest.Weights(vs)
}

// absent is the weight a timeline gives a destination not in the table.
const absent = -2

// step is a change seen in a timeline: at, since the watch began, the
// destination's weight became w (absent: it left the table).
type step struct {
	at time.Duration
	w  int
}

func (s step) String() string {
	if s.w == absent {
		return fmt.Sprintf("%.1fs out", s.at.Seconds())
	}
	return fmt.Sprintf("%.1fs w=%d", s.at.Seconds(), s.w)
}

// timeline is what watching the table saw of some destinations ("service
// destination" keys): their changes, and the longest gap between two reads.
type timeline struct {
	steps   map[string][]step
	maxGap  time.Duration
	samples int
}

// watch reads the table with ipvsadm -Ln every 100 ms for d, or until done
// says so (done may be nil), and records the changes of the keys given.
func watch(t *testing.T, d time.Duration, done func(map[string]int) bool, keys ...string) timeline {
	t.Helper()
	tl := timeline{steps: map[string][]step{}}
	start := time.Now()
	last := start
	for time.Since(start) < d {
		m := ipvsadmTable(t)
		now := time.Now()
		tl.maxGap, last = max(tl.maxGap, now.Sub(last)), now
		tl.samples++
		for _, k := range keys {
			w, ok := m[k]
			if !ok {
				w = absent
			}
			if s := tl.steps[k]; len(s) == 0 || s[len(s)-1].w != w {
				tl.steps[k] = append(s, step{now.Sub(start), w})
			}
		}
		if done != nil && done(m) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return tl
}

// entries counts how often k came into the table (its first sight
// included).
func (tl timeline) entries(k string) int {
	n, prev := 0, absent
	for _, s := range tl.steps[k] {
		if s.w != absent && prev == absent {
			n++
		}
		prev = s.w
	}
	return n
}

// listenIn opens a TCP listener on addr inside the network namespace ns:
// the socket keeps its namespace, and the test serves it like any other.
func listenIn(ns, addr string) (ln net.Listener, err error) {
	if nerr := inNetns(ns, func() { ln, err = net.Listen("tcp", addr) }); nerr != nil {
		return nil, nerr
	}
	return ln, err
}

// inNetns runs fn on a thread moved into the network namespace ns: the
// sockets fn opens belong to ns for good.
func inNetns(ns string, fn func()) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	fn()
	if netns.Set(orig) == nil {
		// A thread left in ns ends with this goroutine.
		runtime.UnlockOSThread()
	}
	return nil
}

// nsBackend is a backend in a network namespace of its own, reached from
// the director through a veth pair: 10.3.<n>.1 (device fvh<n>) on the
// director's side, the real server at 10.3.<n>.2:80.
func nsBackend(t *testing.T, n int) *backend {
	t.Helper()
	p := vm.Peer{NS: fmt.Sprintf("fo%d", n), Host: fmt.Sprintf("fvh%d", n), HostAddr: fmt.Sprintf("10.3.%d.1/24", n),
		PeerDev: fmt.Sprintf("fvr%d", n), PeerAddr: fmt.Sprintf("10.3.%d.2/24", n)}
	t.Cleanup(func() { p.Del() })
	if err := p.Add(); err != nil {
		t.Fatal(err)
	}
	ln, err := listenIn(p.NS, fmt.Sprintf("10.3.%d.2:80", n))
	if err != nil {
		t.Fatalf("listen in %s: %v", p.NS, err)
	}
	return backendOn(t, ln)
}

// everyThird is an HTTP real server on ip that is alive only at every
// third request it gets: a sick server that passes one check in three.
func everyThird(t *testing.T, ip string) (addr string, requests *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	requests = new(atomic.Int64)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if requests.Add(1)%3 == 0 {
			fmt.Fprint(w, "alive")
		} else {
			fmt.Fprint(w, "sick")
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), requests
}

// needGuest skips t on the host: TestVM runs it inside the VM.
func needGuest(t *testing.T) {
	if !inGuest() {
		t.Skip("needs the real kernel: TestVM runs this inside the VM")
	}
}

// TestInVMFlapDamping: a real server that passes one check in three, under
// three virtuals: without the extensions it goes in and out of the table;
// with flapdamping = 2/30s it goes out for good once damped; with rise = 3
// it never comes in, never passing three checks in a row.
func TestInVMFlapDamping(t *testing.T) {
	needGuest(t)
	e := newEnv(t)
	plain, plainReq := everyThird(t, "127.0.0.21")
	damped, dampedReq := everyThird(t, "127.0.0.22")
	rising, risingReq := everyThird(t, "127.0.0.23")
	e.config(fastGlobals +
		httpVirtual("10.9.9.31:80", "", plain+" masq 1") +
		httpVirtual("10.9.9.32:80", "flapdamping = 2/30s", damped+" masq 1") +
		httpVirtual("10.9.9.33:80", "rise = 3", rising+" masq 1"))
	e.mustLd("l.cf", "start")
	kPlain, kDamped, kRising := "ipv4/tcp/10.9.9.31:80 "+plain, "ipv4/tcp/10.9.9.32:80 "+damped, "ipv4/tcp/10.9.9.33:80 "+rising
	e.waitFor("the virtuals", all(has("ipv4/tcp/10.9.9.31:80", -1), has("ipv4/tcp/10.9.9.32:80", -1), has("ipv4/tcp/10.9.9.33:80", -1)))

	const span, calm = 16 * time.Second, 9 * time.Second
	tl := watch(t, span, nil, kPlain, kDamped, kRising)
	t.Logf("%d reads of ipvsadm -Ln over %s (longest gap %s); checks answered: plain %d, damped %d, rise %d",
		tl.samples, span, tl.maxGap.Round(time.Millisecond), plainReq.Load(), dampedReq.Load(), risingReq.Load())
	t.Logf("no extension:         %v", tl.steps[kPlain])
	t.Logf("flapdamping = 2/30s:  %v", tl.steps[kDamped])
	t.Logf("rise = 3:             %v", tl.steps[kRising])

	if n := tl.entries(kPlain); n < 3 {
		t.Errorf("without flapdamping the one-in-three server came into the table %d times in %s, want at least 3: the scenario does not flap", n, span)
	}
	if n := tl.entries(kDamped); n > 1 {
		t.Errorf("with flapdamping = 2/30s the server came into the table %d times, want at most once before it is damped", n)
	}
	s := tl.steps[kDamped]
	if last := s[len(s)-1]; last.w != absent || last.at > span-calm {
		t.Errorf("with flapdamping = 2/30s the server is not held out over the last %s: %v", calm, s)
	}
	if n := tl.entries(kRising); n != 0 {
		t.Errorf("with rise = 3 the server came into the table %d times, want never: it never passes 3 checks in a row (%v)", n, tl.steps[kRising])
	}
	log := e.log()
	if !strings.Contains(log, "real server flapping: held down") || !strings.Contains(log, "10.9.9.32") {
		t.Errorf("the log does not say the real of 10.9.9.32 was held down for flapping:\n%s", log)
	}
	if !strings.Contains(log, "real server rising") {
		t.Errorf("the log does not say the real of 10.9.9.33 was rising:\n%s", log)
	}
}

// TestInVMSlowStart: a real of weight 8 comes back from down at weight 1
// or 2 and grows to 8 over slowstart = 4 seconds, a step at most once a
// second; the same real without slowstart comes back at 8 at once.
func TestInVMSlowStart(t *testing.T) {
	needGuest(t)
	e := newEnv(t)
	slow, fast := newBackend(t, "127.0.0.24"), newBackend(t, "127.0.0.25")
	e.config(fastGlobals +
		httpVirtual("10.9.9.41:80", "slowstart = 4", slow.addr+" masq 8") +
		httpVirtual("10.9.9.42:80", "", fast.addr+" masq 8"))
	e.mustLd("l.cf", "start")
	kSlow, kFast := "ipv4/tcp/10.9.9.41:80 "+slow.addr, "ipv4/tcp/10.9.9.42:80 "+fast.addr
	// The first check is no return from down: straight in at 8.
	e.waitFor("both reals in at 8", all(has(kSlow, 8), has(kFast, 8)))
	slow.healthy.Store(false)
	fast.healthy.Store(false)
	e.waitFor("both reals out", all(lacks(kSlow), lacks(kFast)))
	slow.healthy.Store(true)
	fast.healthy.Store(true)

	var settled time.Time
	tl := watch(t, 20*time.Second, func(m map[string]int) bool {
		if m[kSlow] != 8 || m[kFast] != 8 {
			return false
		}
		if settled.IsZero() {
			settled = time.Now()
		}
		return time.Since(settled) > 1500*time.Millisecond
	}, kSlow, kFast)
	t.Logf("%d reads of ipvsadm -Ln (longest gap %s)", tl.samples, tl.maxGap.Round(time.Millisecond))
	t.Logf("slowstart = 4: %v", tl.steps[kSlow])
	t.Logf("no slowstart:  %v", tl.steps[kFast])

	ramp := tl.steps[kSlow]
	if len(ramp) < 2 || ramp[0].w != absent {
		t.Fatalf("slowstart: the real did not come back into the table: %v", ramp)
	}
	ramp = ramp[1:]
	if w := ramp[0].w; w < 1 || w > 2 {
		t.Errorf("slowstart: the real came back at weight %d, want 1 or 2", w)
	}
	for i := 1; i < len(ramp); i++ {
		if ramp[i].w <= ramp[i-1].w {
			t.Errorf("slowstart: weight went from %d to %d; want it only to grow", ramp[i-1].w, ramp[i].w)
		}
		// A step is seen up to one read late: the reads bound the error.
		if gap := ramp[i].at - ramp[i-1].at; gap < time.Second-tl.maxGap {
			t.Errorf("slowstart: weight %d to %d in %s, faster than once a second", ramp[i-1].w, ramp[i].w, gap)
		}
	}
	last := ramp[len(ramp)-1]
	if last.w != 8 {
		t.Errorf("slowstart: the weight ended at %d, want 8", last.w)
	}
	if took := last.at - ramp[0].at; took < 2500*time.Millisecond || took > 6*time.Second {
		t.Errorf("slowstart: from back in the table to weight 8 took %s, want about 4 s (slowstart, in whole-second steps)", took)
	} else {
		t.Logf("slowstart: back at weight %d, at 8 %s later, in %d steps", ramp[0].w, took.Round(100*time.Millisecond), len(ramp)-1)
	}
	if f := tl.steps[kFast]; len(f) < 2 || f[1].w != 8 {
		t.Errorf("without slowstart the real should come back at 8 at once: %v", f)
	}
}

// TestInVMFailOpen: four real servers in network namespaces of their own,
// under a virtual with failopen = 50% 8 and under one without. The
// director loses its routes to all of them (their veth devices go down on
// its side): the virtual without failopen empties, the one with it keeps
// its table and the log and status say fail-open. The routes come back:
// both have all their reals. The routes go again and stay gone: after the
// hold of 8 s the reals leave the failopen virtual too.
func TestInVMFailOpen(t *testing.T) {
	needGuest(t)
	e := newEnv(t)
	const hold = 8 * time.Second
	var reals []string
	for n := 1; n <= 4; n++ {
		reals = append(reals, fmt.Sprintf("%s masq %d", nsBackend(t, n).addr, n))
	}
	e.config(fastGlobals +
		httpVirtual("10.9.9.51:80", "failopen = 50% 8", reals...) +
		httpVirtual("10.9.9.52:80", "", reals...))
	e.mustLd("l.cf", "start")

	held, plain := "ipv4/tcp/10.9.9.51:80", "ipv4/tcp/10.9.9.52:80"
	var heldKeys, keys []string
	var heldFull, plainFull, heldEmpty, plainEmpty []kerneltest.Cond
	for n := 1; n <= 4; n++ {
		d := fmt.Sprintf("10.3.%d.2:80", n)
		heldKeys, keys = append(heldKeys, held+" "+d), append(keys, held+" "+d, plain+" "+d)
		heldFull, plainFull = append(heldFull, has(held+" "+d, n)), append(plainFull, has(plain+" "+d, n))
		heldEmpty, plainEmpty = append(heldEmpty, lacks(held+" "+d)), append(plainEmpty, lacks(plain+" "+d))
	}
	e.waitFor("all reals in both virtuals", all(append(heldFull, plainFull...)...))
	routes := func(state string) {
		for n := 1; n <= 4; n++ {
			if err := vm.IP("link", "set", fmt.Sprintf("fvh%d", n), state); err != nil {
				t.Fatal(err)
			}
		}
	}
	logged := func(text string, times int) func(map[string]int) bool {
		return func(map[string]int) bool { return strings.Count(e.log(), text) >= times }
	}
	// dropped gives the timelines of the reals of the failopen virtual
	// that a watch saw out of the table at some moment.
	dropped := func(tl timeline) map[string][]step {
		out := map[string][]step{}
		for _, k := range heldKeys {
			for _, s := range tl.steps[k] {
				if s.w == absent {
					out[k] = tl.steps[k]
					break
				}
			}
		}
		return out
	}

	// The cut: every real fails its checks at once.
	cut := time.Now()
	routes("down")
	tl := watch(t, 15*time.Second, func(m map[string]int) bool { return all(plainEmpty...)(m) && logged("fail-open: ", 1)(m) }, keys...)
	if !all(plainEmpty...)(ipvsadmTable(t)) || !logged("fail-open: ", 1)(nil) {
		t.Fatalf("after the cut: want the virtual without failopen empty and fail-open in the log; seen %v\nlog:\n%s", tl.steps, e.log())
	}
	t.Logf("cut: fail-open logged and the virtual without failopen empty %s after it", time.Since(cut).Round(100*time.Millisecond))
	if d := dropped(tl); len(d) > 0 {
		t.Logf("cut: before fail-open opened, the failopen virtual lost for a moment: %v", d)
	}
	e.waitText("fail-open in the status", func() string { _, errOut, _ := e.ld("l.cf", "status"); return errOut },
		func(s string) bool { return strings.Contains(s, "10.9.9.51:80 fail-open since") })
	tl = watch(t, 2*time.Second, nil, heldKeys...)
	for _, k := range heldKeys {
		if s := tl.steps[k]; len(s) != 1 || s[0].w == absent {
			t.Errorf("failopen: %s did not stay in the table while held: %v", k, s)
		}
	}
	if m := ipvsadmTable(t); !all(heldFull...)(m) || !all(plainEmpty...)(m) {
		t.Errorf("while held: want the failopen virtual at weights 1-4 and the other empty; ipvsadm -Ln: %v", m)
	}

	// The routes come back: the reals pass again and stay in; failopen ends.
	routes("up")
	tl = watch(t, 15*time.Second, func(m map[string]int) bool {
		return all(plainFull...)(m) && all(heldFull...)(m) && logged("fail-open over", 1)(m)
	}, heldKeys...)
	if m := ipvsadmTable(t); !all(heldFull...)(m) || !all(plainFull...)(m) || !logged("fail-open over", 1)(m) {
		t.Fatalf("after the routes came back: want both virtuals at weights 1-4 and fail-open over; ipvsadm -Ln: %v\nlog:\n%s", m, e.log())
	}
	if d := dropped(tl); len(d) > 0 {
		t.Logf("routes back: as fail-open ended, the failopen virtual lost for a moment the reals still failing: %v", d)
	}

	// Cut again and keep the routes gone past the hold.
	cut = time.Now()
	routes("down")
	defer routes("up")
	e.waitText("fail-open again in the log", e.log, func(s string) bool { return strings.Count(s, "fail-open: ") == 2 })
	opened := time.Since(cut)
	tl = watch(t, hold+10*time.Second, all(heldEmpty...), heldKeys...)
	t.Logf("second cut: fail-open logged %s after it; the failopen virtual since: %v", opened.Round(100*time.Millisecond), tl.steps)
	var left time.Duration
	for _, k := range heldKeys {
		s := tl.steps[k]
		if len(s) != 2 || s[0].w == absent || s[1].w != absent {
			t.Fatalf("failopen: %s should stay in through the hold and then leave: %v", k, s)
		}
		left = max(left, opened+s[1].at)
	}
	t.Logf("hold: the reals left the failopen virtual %s after the cut (hold %s)", left.Round(100*time.Millisecond), hold)
	if left < hold || left > hold+5*time.Second {
		t.Errorf("failopen: the reals left %s after the cut; want the hold of %s, plus the checks' few seconds", left, hold)
	}
	for _, l := range strings.Split(e.log(), "\n") {
		if strings.Contains(l, "fail-open") {
			t.Logf("log: %s", l)
		}
	}
}
