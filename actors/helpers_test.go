package actors

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
	"github.com/ldirectord-go/ldirectord/messages"
)

func TestMain(m *testing.M) {
	// protoactor's dead-letter throttle starts a goroutine that lives for
	// one throttle period after the last dead letter; it is the library's,
	// bounded, and not ours to stop. Where the compiler inlines it into
	// NewDeadLetter, its goroutine bears that name.
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1.1"),
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1.1"),
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}

// fakeChecks answers checks from a table the test sets, per real address,
// and counts them. A real with a script takes its answers from it first.
type fakeChecks struct {
	mu      sync.Mutex
	up      map[netip.Addr]bool
	calls   map[netip.Addr]int
	scripts map[netip.Addr][]string // "up", "down", "panic", "fault" (the director's)
	holes   map[netip.Addr]bool     // black-holed: the check waits for its timeout
	targets []checks.Target         // every target checked, in order
	running int                     // checks in progress now
	most    int                     // the most in progress at once since resetMost
}

// resetMost starts counting the most checks in progress at once afresh.
func (f *fakeChecks) resetMost() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.most = f.running
}

func (f *fakeChecks) mostRunning() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.most
}

func (f *fakeChecks) blackhole(addr string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holes[netip.MustParseAddr(addr)] = on
}

func newFakeChecks() *fakeChecks {
	return &fakeChecks{up: map[netip.Addr]bool{}, calls: map[netip.Addr]int{}, scripts: map[netip.Addr][]string{}, holes: map[netip.Addr]bool{}}
}

func (f *fakeChecks) set(addr string, up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up[netip.MustParseAddr(addr)] = up
}

func (f *fakeChecks) script(addr string, steps ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[netip.MustParseAddr(addr)] = steps
}

func (f *fakeChecks) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[netip.MustParseAddr(addr)]
}

func (f *fakeChecks) check(ctx context.Context, t checks.Target) checks.Result {
	f.mu.Lock()
	f.calls[t.Addr]++
	f.targets = append(f.targets, t)
	f.running++
	f.most = max(f.most, f.running)
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	up := f.up[t.Addr]
	if s := f.scripts[t.Addr]; len(s) > 0 {
		f.scripts[t.Addr] = s[1:]
		switch s[0] {
		case "panic":
			f.mu.Unlock()
			panic("scripted check panic")
		case "up":
			up = true
		case "fault":
			f.mu.Unlock()
			return checks.Result{Reason: "no verdict, the director is short of resources: socket: too many open files", DirectorFault: true}
		default:
			up = false
		}
	}
	hole := f.holes[t.Addr]
	f.mu.Unlock()
	if hole {
		<-ctx.Done()
		return checks.Result{Reason: fmt.Sprintf("connect to %s: %v", t.Addr, ctx.Err())}
	}
	if !up {
		return checks.Result{Reason: fmt.Sprintf("connect to %s: refused", t.Addr)}
	}
	return checks.Result{Up: true, Reason: "ok"}
}

// crash makes the actor that takes it panic, to show supervision at work.
type crash struct{}

// pidsQuery asks the root for the writer and its instances, or an instance
// for its virtual actors by identity.
type pidsQuery struct{}

// testHooks takes the tests' own messages before any actor's Receive sees
// them; it runs in the actor's mailbox, so it may read the actor.
func testHooks(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		switch env.Message.(type) {
		case *crash:
			panic("crash requested")
		case *checkDone:
			if h := checkDoneHook.Load(); h != nil {
				(*h)()
			}
		case *messages.Inspect:
			if _, ok := c.Actor().(*virtualActor); ok {
				if h := inspectHook.Load(); h != nil {
					(*h)()
				}
			}
		case *pidsQuery:
			var answer any
			switch a := c.Actor().(type) {
			case *root:
				answer = append([]*actor.PID{a.writer}, a.instances...)
			case *instance:
				answer = maps.Clone(a.pids)
			}
			c.ActorSystem().Root.Send(env.Sender, answer)
			return
		}
		next(c, env)
	}
}

// checkDoneHook, when set, runs before a prober takes a check's result,
// on the goroutine that runs the prober's mailbox.
var checkDoneHook atomic.Pointer[func()]

// inspectHook, when set, runs before a virtual actor answers an Inspect.
var inspectHook atomic.Pointer[func()]

func newMemory() *kernel.Memory { return kernel.NewMemory() }

func mkReal(addr string, port uint16, w int) *conf.Real {
	a := netip.MustParseAddr(addr)
	return &conf.Real{ID: conf.RealID(netip.AddrPortFrom(a, port).String()), Addr: a, Port: port, Method: conf.Masq, Weight: w}
}

func mkVirtual(addr string, port uint16, reals ...*conf.Real) *conf.Virtual {
	a := netip.MustParseAddr(addr)
	return &conf.Virtual{
		ID:   conf.VirtualID("tcp:" + netip.AddrPortFrom(a, port).String()),
		Addr: a, Port: port, Protocol: conf.TCP, Scheduler: "wrr", NetmaskBits: 32,
		Check: conf.Check{Type: conf.CheckConnect},
		Settings: conf.Settings{
			CheckTimeout: time.Second, NegotiateTimeout: time.Second, CheckInterval: 50 * time.Millisecond,
			CheckCount: 1, FailureCount: 1, Cleanstop: true,
		},
		Reals: reals,
	}
}

func mkConfig(file string, vs ...*conf.Virtual) *conf.Config {
	return &conf.Config{File: file, Name: file, Virtuals: vs}
}

type harness struct {
	// infoLog logs at info level, as the daemon does by default, and
	// check, when set, replaces the fake: for benchmarks of the hot path.
	infoLog bool
	check   checks.Func
	t       testing.TB
	table   *kernel.Memory
	fake    *fakeChecks
	logs    *observer.ObservedLogs
	d       *Daemon
	once    *sync.Once
	load    func(string) (*conf.Config, error)
	opts    Options // extra options: Sendmail, Loop
}

func start(t *testing.T, cfgs ...*conf.Config) *harness {
	t.Helper()
	h := &harness{t: t, table: kernel.NewMemory(), fake: newFakeChecks()}
	return h.run(cfgs...)
}

func (h *harness) run(cfgs ...*conf.Config) *harness {
	h.t.Helper()
	level := zap.DebugLevel
	if h.infoLog {
		level = zap.InfoLevel
	}
	core, logs := observer.New(level)
	h.logs = logs
	d, err := Start(Options{
		Log: zap.New(core), Table: h.table, Check: h.checkFunc(), Load: h.load,
		Resync: 100 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Sendmail: h.opts.Sendmail, ReadyWrite: h.opts.ReadyWrite, StateDir: h.opts.StateDir, Loop: h.opts.Loop,
		middleware: []actor.ReceiverMiddleware{testHooks},
	}, cfgs...)
	if err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	h.d = d
	h.once = new(sync.Once)
	h.t.Cleanup(func() { h.stop() })
	return h
}

// stop stops the daemon once and returns Stop's error.
func (h *harness) stop() (err error) {
	h.once.Do(func() { err = h.d.Stop() })
	return err
}

// weights reads the table as "service dest" -> weight.
func (h *harness) weights() map[string]int {
	m, err := h.tryWeights()
	if err != nil {
		h.t.Errorf("List: %v", err)
	}
	return m
}

func (h *harness) tryWeights() (map[string]int, error) {
	vs, err := h.table.List()
	if err != nil {
		return nil, err
	}
	return kerneltest.Weights(vs), nil
}

// waitFor polls until cond holds; the bound is generous for a busy machine.
func (h *harness) waitFor(what string, cond func(map[string]int) bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		w, err := h.tryWeights()
		if err == nil && cond(w) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; table: %v", what, w)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The questions asked of the table, shared with the other daemon tests.
var (
	has   = kerneltest.Has
	lacks = kerneltest.Lacks
	all   = kerneltest.All
)

// watch records, until stopped, whether key was ever missing from the table
// after it first appeared.
func (h *harness) watch(key string) (stop func() (appeared, vanished bool)) {
	done := make(chan struct{})
	res := make(chan [2]bool)
	go func() {
		var appeared, vanished bool
		for {
			select {
			case <-done:
				res <- [2]bool{appeared, vanished}
				return
			default:
			}
			_, ok := h.weights()[key]
			if ok {
				appeared = true
			} else if appeared {
				vanished = true
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() (bool, bool) {
		close(done)
		r := <-res
		return r[0], r[1]
	}
}

func (h *harness) checkFunc() checks.Func {
	if h.check != nil {
		return h.check
	}
	return h.fake.check
}
