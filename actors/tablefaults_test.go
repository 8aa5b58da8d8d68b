package actors

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// faultyTable is a kernel.Table over a Memory that fails calls as the test
// says: the next n, or a random share of them. The test reads the Memory
// beneath it directly, so that its own reads neither fail nor use up the
// failures meant for the daemon.
type faultyTable struct {
	*kernel.Memory
	mu       sync.Mutex
	next     int     // the next calls that fail
	share    float64 // the share of other calls that fail
	rnd      *rand.Rand
	injected int // failures returned so far
	calls    int
}

var errInjected = errors.New("netlink: injected failure")

func newFaultyTable(seed uint64) *faultyTable {
	return &faultyTable{Memory: kernel.NewMemory(), rnd: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

func (f *faultyTable) failNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = n
}

func (f *faultyTable) failShare(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.share = p
}

func (f *faultyTable) counts() (calls, injected int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.injected
}

func (f *faultyTable) fault() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.next > 0 || (f.share > 0 && f.rnd.Float64() < f.share) {
		if f.next > 0 {
			f.next--
		}
		f.injected++
		return errInjected
	}
	return nil
}

func (f *faultyTable) List() ([]kernel.Virtual, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Memory.List()
}

func (f *faultyTable) AddService(s kernel.Service) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Memory.AddService(s)
}

func (f *faultyTable) UpdateService(s kernel.Service) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Memory.UpdateService(s)
}

func (f *faultyTable) DelService(s kernel.Service) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Memory.DelService(s)
}

func (f *faultyTable) AddDestination(s kernel.Service, d kernel.Destination) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Memory.AddDestination(s, d)
}

func (f *faultyTable) UpdateDestination(s kernel.Service, d kernel.Destination) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Memory.UpdateDestination(s, d)
}

func (f *faultyTable) DelDestination(s kernel.Service, d kernel.Destination) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Memory.DelDestination(s, d)
}

// runOn starts the daemon of cfgs on table, the harness reading the
// Memory beneath it.
func (h *harness) runOn(table kernel.Table, cfgs ...*conf.Config) {
	h.t.Helper()
	h.runOnWith(table, h.fake.check, cfgs...)
}

// runOnWith is runOn with check instead of the fake checks.
func (h *harness) runOnWith(table kernel.Table, check checks.Func, cfgs ...*conf.Config) {
	h.t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	h.logs = logs
	d, err := Start(Options{
		Log: zap.New(core), Table: table, Check: check,
		Resync: 100 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		middleware: []actor.ReceiverMiddleware{testHooks},
	}, cfgs...)
	if err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	h.d = d
	h.once = new(sync.Once)
	h.t.Cleanup(func() { h.stop() })
}

// watchAll records, until stopped, every key of keys that left the table
// after it first appeared in it.
func (h *harness) watchAll(keys []string) (stop func() (appeared, vanished []string)) {
	done := make(chan struct{})
	res := make(chan [2][]string)
	go func() {
		seen, gone := map[string]bool{}, map[string]bool{}
		for {
			select {
			case <-done:
				var a, v []string
				for _, k := range keys {
					if seen[k] {
						a = append(a, k)
					}
					if gone[k] {
						v = append(v, k)
					}
				}
				res <- [2][]string{a, v}
				return
			default:
			}
			w := h.weights()
			for _, k := range keys {
				if _, ok := w[k]; ok {
					seen[k] = true
				} else if seen[k] {
					gone[k] = true
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return func() ([]string, []string) {
		close(done)
		r := <-res
		return r[0], r[1]
	}
}

// A table that fails a random share of calls, then the next N calls again
// and again, while real servers flap: a real whose checks always pass
// never leaves the table for a write error, and once the failures stop
// the table converges to what the checks say. About 6 s.
func TestTableFaultsWhileRealsFlap(t *testing.T) {
	const steady, flapping = 3, 7
	var reals []*conf.Real
	for i := range steady + flapping {
		reals = append(reals, mkReal(fmt.Sprintf("127.0.0.%d", 2+i), 80, 1+i%3))
	}
	v := mkVirtual("10.0.0.1", 80, reals...)
	table := newFaultyTable(uint64(time.Now().UnixNano()))
	h := &harness{t: t, table: table.Memory, fake: newFakeChecks()}
	for _, r := range reals {
		h.fake.set(r.Addr.String(), true)
	}
	h.runOn(table, mkConfig("a.cf", v))
	want := func() map[string]int {
		w := map[string]int{svc: -1}
		for _, r := range reals {
			if h.fake.upNow(r.Addr.String()) {
				w[svc+" "+r.Addr.String()+":80"] = r.Weight
			}
		}
		return w
	}
	h.waitFor("every real in", func(w map[string]int) bool { return equalWeights(w, want()) })

	var keys []string
	for _, r := range reals[:steady] {
		keys = append(keys, svc+" "+r.Addr.String()+":80")
	}
	stop := h.watchAll(keys)
	flap := make(chan struct{})
	flapped := make(chan int)
	go func() {
		rnd, n := rand.New(rand.NewPCG(1, 2)), 0
		for {
			select {
			case <-flap:
				flapped <- n
				return
			case <-time.After(20 * time.Millisecond):
			}
			r := reals[steady+rnd.IntN(flapping)]
			h.fake.set(r.Addr.String(), !h.fake.upNow(r.Addr.String()))
			n++
		}
	}()
	// A random share of every call fails, reads included.
	for _, share := range []float64{0.1, 0.5, 0.9} {
		table.failShare(share)
		time.Sleep(time.Second)
	}
	table.failShare(0)
	// Then bursts: the next N calls fail, N up to more than a write has.
	for _, n := range []int{1, 2, 5, 20, 100} {
		table.failNext(n)
		time.Sleep(400 * time.Millisecond)
	}
	table.failNext(0)
	close(flap)
	flips := <-flapped
	h.waitFor("the table as the checks say, once the failures stopped", func(w map[string]int) bool { return equalWeights(w, want()) })
	appeared, vanished := stop()
	calls, injected := table.counts()
	t.Logf("%d flips of %d flapping reals; %d of %d table calls failed; %d failed writes logged",
		flips, flapping, injected, calls, h.logged("ipvs table update failed; will retry"))
	if len(appeared) != steady || len(vanished) != 0 {
		t.Errorf("healthy reals in the table %v, of which left it %v: a write error took a healthy real out", appeared, vanished)
	}
	if injected < 20 || h.logged("ipvs table update failed; will retry") == 0 {
		t.Errorf("only %d failures injected, %d logged: the test did not test", injected, h.logged("ipvs table update failed; will retry"))
	}
	if h.logged("ipvs table in step again") == 0 {
		t.Error("the writer never said the table was in step again")
	}
}

// upNow is whether the fake check of addr passes now.
func (f *fakeChecks) upNow(addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for a, up := range f.up {
		if a.String() == addr {
			return up
		}
	}
	return false
}

func equalWeights(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A writer that fails restarts alone: the one supervision event is its
// own, its siblings' checks go on without a pause long enough to lose a
// real, and the restarted writer still takes their verdicts. The prober,
// virtual and instance cases are in supervision_test.go. About 1 s.
func TestWriterCrashRestartsOnlyTheWriter(t *testing.T) {
	a := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	b := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.3", 80, 1))
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.run(mkConfig("a.cf", a, b))
	h.waitFor("both up", all(has(svc+" 127.0.0.2:80", 1), has(svc2+" 127.0.0.3:80", 1)))
	stop := h.watchAll([]string{svc + " 127.0.0.2:80", svc2 + " 127.0.0.3:80"})
	writer := h.rootChildren()[0]
	h.d.system.Root.Send(writer, &crash{})
	n2, n3 := h.fake.count("127.0.0.2"), h.fake.count("127.0.0.3")
	h.waitChecks("127.0.0.2", n2+5)
	h.waitChecks("127.0.0.3", n3+5)
	if _, vanished := stop(); len(vanished) != 0 {
		t.Errorf("reals left the table while the writer restarted: %v", vanished)
	}
	if f := h.failures(); len(f) != 1 || f[0] != writer.Id+" RestartDirective" {
		t.Errorf("supervision events = %v, want one restart of the writer %s", f, writer.Id)
	}
	h.fake.set("127.0.0.3", false)
	h.waitFor("the restarted writer takes verdicts", all(has(svc+" 127.0.0.2:80", 1), lacks(svc2+" 127.0.0.3:80")))
}
