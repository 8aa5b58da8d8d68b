package actors

import (
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// syncTable is a Memory table with sync daemons that behave as the
// kernel's: one of each state, its defaults filled in as it lists them,
// maxlen bounded by a 1500-byte MTU.
type syncTable struct {
	*kernel.Memory
	mu      sync.Mutex
	running map[string]kernel.SyncDaemon
	starts  int
	stops   int
}

func newSyncTable() *syncTable {
	return &syncTable{Memory: kernel.NewMemory(), running: map[string]kernel.SyncDaemon{}}
}

var _ kernel.SyncDaemons = (*syncTable)(nil)

func (s *syncTable) SyncDaemons() ([]kernel.SyncDaemon, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kernel.SyncDaemon
	for _, st := range []string{kernel.SyncMaster, kernel.SyncBackup} {
		if d, ok := s.running[st]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *syncTable) StartSyncDaemon(d kernel.SyncDaemon) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.running[d.State]; ok {
		return fmt.Errorf("start %s sync daemon: %w", d.State, kernel.ErrExist)
	}
	if !d.Group.IsValid() {
		d.Group = netip.MustParseAddr("224.0.0.81")
	}
	if d.Port == 0 {
		d.Port = 8848
	}
	if d.TTL == 0 {
		d.TTL = 1
	}
	if d.MaxLen == 0 || d.MaxLen > 1472 {
		d.MaxLen = 1472
	}
	s.running[d.State] = d
	s.starts++
	return nil
}

func (s *syncTable) StopSyncDaemon(state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.running[state]; !ok {
		return fmt.Errorf("stop %s sync daemon: %w", state, kernel.ErrNotExist)
	}
	delete(s.running, state)
	s.stops++
	return nil
}

// state is the sync daemons running, by state, and the starts and stops
// so far.
func (s *syncTable) state() (map[string]kernel.SyncDaemon, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.running), s.starts, s.stops
}

// syncHarness runs a daemon on a table of the test's choice.
type syncHarness struct {
	t     *testing.T
	table *syncTable
	logs  *observer.ObservedLogs
	d     *Daemon
	once  sync.Once
}

func startSync(t *testing.T, table kernel.Table, cfgs ...*conf.Config) *syncHarness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	fake := newFakeChecks()
	fake.set("10.0.0.2", true)
	d, err := Start(Options{
		Log: zap.New(core), Table: table, Check: fake.check,
		Resync: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		middleware: []actor.ReceiverMiddleware{testHooks},
	}, cfgs...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	h := &syncHarness{t: t, logs: logs, d: d}
	h.table, _ = table.(*syncTable)
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *syncHarness) stop() {
	h.once.Do(func() {
		if err := h.d.Stop(); err != nil {
			h.t.Errorf("Stop: %v", err)
		}
	})
}

// waitSync polls until the sync daemons running are want.
func (h *syncHarness) waitSync(what string, want ...kernel.SyncDaemon) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, _, _ := h.table.state()
		if sameRunning(got, want) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s: running %+v, want %+v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sameRunning(got map[string]kernel.SyncDaemon, want []kernel.SyncDaemon) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if g, ok := got[w.State]; !ok || g.Interface != w.Interface || g.SyncID != w.SyncID {
			return false
		}
	}
	return true
}

// counts fails the test unless starts and stops are as given.
func (h *syncHarness) counts(when string, starts, stops int) {
	h.t.Helper()
	if _, s, p := h.table.state(); s != starts || p != stops {
		h.t.Errorf("%s: %d starts and %d stops, want %d and %d", when, s, p, starts, stops)
	}
}

// logged counts the log lines with message msg.
func (h *syncHarness) logged(msg string) int {
	return h.logs.FilterMessage(msg).Len()
}

func syncConfig(file string, sd *conf.SyncDaemon) *conf.Config {
	c := mkConfig(file, mkVirtual("10.0.0.1", 80, mkReal("10.0.0.2", 80, 1)))
	c.Global.SyncDaemon = sd
	return c
}

func kmaster(iface string, id uint8) kernel.SyncDaemon {
	return kernel.SyncDaemon{State: kernel.SyncMaster, Interface: iface, SyncID: id}
}

func kbackup(iface string, id uint8) kernel.SyncDaemon {
	return kernel.SyncDaemon{State: kernel.SyncBackup, Interface: iface, SyncID: id}
}

// TestSyncDaemonsStartedAndStopped: syncdaemon = both starts a master and a
// backup; the daemon's stop stops them.
func TestSyncDaemonsStartedAndStopped(t *testing.T) {
	table := newSyncTable()
	h := startSync(t, table, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncBoth, Interface: "eth1", SyncID: 7}))
	h.waitSync("a master and a backup", kmaster("eth1", 7), kbackup("eth1", 7))
	time.Sleep(200 * time.Millisecond) // a few resyncs: nothing more is done
	h.counts("after the start", 2, 0)
	h.stop()
	h.waitSync("none at stop")
	h.counts("after the stop", 2, 2)
	if h.logged("sync daemon started") != 2 || h.logged("sync daemon stopped") != 2 {
		t.Errorf("logs: %v", h.logs.All())
	}
}

// TestSyncDaemonAdopted: one running as wanted, its defaults listed, is
// adopted, neither stopped nor started; the one missing is started; both
// are the daemon's own at stop. One with other settings is replaced.
func TestSyncDaemonAdopted(t *testing.T) {
	table := newSyncTable()
	if err := table.StartSyncDaemon(kmaster("eth1", 7)); err != nil {
		t.Fatal(err)
	}
	if err := table.StartSyncDaemon(kbackup("eth1", 3)); err != nil {
		t.Fatal(err)
	}
	h := startSync(t, table, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncBoth, Interface: "eth1", SyncID: 7}))
	h.waitSync("the master adopted, the backup replaced", kmaster("eth1", 7), kbackup("eth1", 7))
	time.Sleep(200 * time.Millisecond)
	h.counts("after the start", 3, 1)
	if h.logged("sync daemon adopted as it runs") != 1 || h.logged("sync daemon replaced: it ran with other settings") != 1 {
		t.Errorf("logs: %v", h.logs.All())
	}
	h.stop()
	h.waitSync("none at stop")
}

// TestSyncDaemonReload: a reload that changes the directive replaces the
// sync daemon, one that turns master into backup stops one and starts the
// other, one that removes it stops it.
func TestSyncDaemonReload(t *testing.T) {
	table := newSyncTable()
	h := startSync(t, table, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1", SyncID: 1}))
	h.waitSync("the master", kmaster("eth1", 1))
	steps := []struct {
		sd   *conf.SyncDaemon
		want []kernel.SyncDaemon
		ss   [2]int
	}{
		{&conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1", SyncID: 2}, []kernel.SyncDaemon{kmaster("eth1", 2)}, [2]int{2, 1}},
		{&conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1", SyncID: 2}, []kernel.SyncDaemon{kmaster("eth1", 2)}, [2]int{2, 1}},
		{&conf.SyncDaemon{State: conf.SyncBackup, Interface: "eth1", SyncID: 2}, []kernel.SyncDaemon{kbackup("eth1", 2)}, [2]int{3, 2}},
		{&conf.SyncDaemon{State: conf.SyncBoth, Interface: "eth2", SyncID: 2}, []kernel.SyncDaemon{kmaster("eth2", 2), kbackup("eth2", 2)}, [2]int{5, 3}},
		{nil, nil, [2]int{5, 5}},
	}
	for i, s := range steps {
		if err := h.d.ReloadConfig(syncConfig("a.cf", s.sd)); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		h.waitSync(fmt.Sprintf("reload %d", i), s.want...)
		time.Sleep(100 * time.Millisecond)
		h.counts(fmt.Sprintf("reload %d", i), s.ss[0], s.ss[1])
	}
}

// TestSyncDaemonStoppedByHandStartsAgain: one stopped under the daemon is
// started again at the next read, like the table's drift.
func TestSyncDaemonStoppedByHandStartsAgain(t *testing.T) {
	table := newSyncTable()
	h := startSync(t, table, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncBoth, Interface: "eth1"}))
	h.waitSync("both", kmaster("eth1", 0), kbackup("eth1", 0))
	if err := table.StopSyncDaemon(kernel.SyncBackup); err != nil {
		t.Fatal(err)
	}
	h.waitSync("the backup started again", kmaster("eth1", 0), kbackup("eth1", 0))
	if h.logged("sync daemon stopped under the daemon; started again") != 1 {
		t.Errorf("logs: %v", h.logs.All())
	}
	h.counts("after the repair", 3, 1)
}

// TestSyncDaemonsLeftAtRestart: a restart leaves them running, and the next
// daemon adopts them without a stop or a start; a stop after that stops
// them.
func TestSyncDaemonsLeftAtRestart(t *testing.T) {
	table := newSyncTable()
	cfg := syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncBoth, Interface: "eth1", SyncID: 4, MaxLen: 9000})
	h := startSync(t, table, cfg)
	h.waitSync("both", kmaster("eth1", 4), kbackup("eth1", 4))
	if err := h.d.LeaveSyncDaemons(); err != nil {
		t.Fatal(err)
	}
	h.stop()
	h.waitSync("both still running", kmaster("eth1", 4), kbackup("eth1", 4))
	h.counts("after the restart's stop", 2, 0)
	if h.logged("restarting: the sync daemons are left running for the next daemon to adopt") != 1 {
		t.Errorf("logs: %v", h.logs.All())
	}

	// maxlen=9000 was bounded by the MTU, so the next daemon's settings
	// differ from those it finds: it replaces them once, and then keeps
	// its own.
	next := startSync(t, table, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncBoth, Interface: "eth1", SyncID: 4}))
	time.Sleep(300 * time.Millisecond)
	next.counts("after the next daemon's start", 2, 0)
	if next.logged("sync daemon adopted as it runs") != 2 {
		t.Errorf("logs: %v", next.logs.All())
	}
	next.stop()
	next.waitSync("none at the stop")
	next.counts("after the stop", 2, 2)
}

// TestSyncDaemonBoundedNotReplaced: a maxlen the kernel bounds is listed
// other than asked; the daemon does not take that for another daemon's and
// replace it at every read.
func TestSyncDaemonBoundedNotReplaced(t *testing.T) {
	table := newSyncTable()
	h := startSync(t, table, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1", MaxLen: 9000}))
	h.waitSync("the master", kmaster("eth1", 0))
	time.Sleep(300 * time.Millisecond)
	h.counts("after a few reads", 1, 0)
}

// TestSyncDaemonOperatorsLeftAlone: a sync daemon the configuration does
// not ask for, started by an operator, is neither adopted nor stopped.
func TestSyncDaemonOperatorsLeftAlone(t *testing.T) {
	table := newSyncTable()
	if err := table.StartSyncDaemon(kbackup("eth9", 9)); err != nil {
		t.Fatal(err)
	}
	h := startSync(t, table, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1"}))
	h.waitSync("ours beside the operator's", kmaster("eth1", 0), kbackup("eth9", 9))
	h.stop()
	h.waitSync("the operator's only", kbackup("eth9", 9))
}

// TestSyncDaemonsTwoConfigurations: two configurations that ask for a
// master each with other settings get one of them, which is not replaced
// at every read, and the conflict is logged, once; when the configurations
// with the directive are gone (a reload of the command line's that drops
// the other and the directive) the sync daemon stops.
func TestSyncDaemonsTwoConfigurations(t *testing.T) {
	table := newSyncTable()
	a := syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1", SyncID: 1})
	b := mkConfig("b.cf", mkVirtual("10.0.0.5", 80, mkReal("10.0.0.2", 81, 1)))
	b.Global.SyncDaemon = &conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1", SyncID: 2}
	h := startSync(t, table, a, b)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, _, _ := table.state()
		if sameRunning(got, []kernel.SyncDaemon{kmaster("eth1", 1)}) || sameRunning(got, []kernel.SyncDaemon{kmaster("eth1", 2)}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no master: %+v", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	h.counts("after the start", 1, 0)
	if n := h.logged("two configurations ask for a sync daemon of the same state with other settings; the kernel runs one of each: the first configuration to ask has it"); n != 1 {
		t.Errorf("the conflict was logged %d times, want once", n)
	}
	if err := h.d.ReloadAll(syncConfig("a.cf", nil)); err != nil {
		t.Fatal(err)
	}
	h.waitSync("none")
}

// TestSyncDaemonsNeedTheKernel: on a table without sync daemons (the file
// table), syncdaemon is logged as ignored, once.
func TestSyncDaemonsNeedTheKernel(t *testing.T) {
	plain := struct{ kernel.Table }{kernel.NewMemory()}
	h := startSync(t, plain, syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1"}))
	if err := h.d.ReloadConfig(syncConfig("a.cf", &conf.SyncDaemon{State: conf.SyncBackup, Interface: "eth1"})); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	h.stop()
	msg := "sync daemons need the kernel's IPVS: this table has none, so syncdaemon is ignored"
	if n := h.logged(msg); n != 1 {
		t.Errorf("logged %d times, want once: %v", n, h.logs.All())
	}
	if _, ok := any(plain).(kernel.SyncDaemons); ok {
		t.Fatal("the plain table has sync daemons")
	}
}
