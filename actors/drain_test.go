package actors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/plan"
)

// drainFile writes a drain file for addr:port into the configuration's
// drain directory.
func (h *harness) drainFile(dir, real, content string) string {
	h.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	p := filepath.Join(dir, real+plan.DrainSuffix)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// A drained real goes to weight 0 while it has connections, leaves when
// they end, and comes back when the drain file goes.
func TestDrainWaitsForConnections(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 5), mkReal("127.0.0.3", 80, 5))
	cfg := mkConfig("a.cf", v)
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.opts.StateDir = t.TempDir()
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.run(cfg)
	key := svc + " 127.0.0.2:80"
	h.waitFor("both in", all(has(key, 5), has(svc+" 127.0.0.3:80", 5)))
	svcK := plan.Service(v)
	dst := plan.Destination(v, v.Reals[0], 5)
	h.table.SetConns(svcK, dst, kernel.Conns{Active: 2})

	f := h.drainFile(plan.DrainDir(cfg, h.opts.StateDir), "127.0.0.2:80", "")
	h.waitFor("draining: weight 0", all(has(key, 0), has(svc+" 127.0.0.3:80", 5)))
	time.Sleep(3 * drainEvery)
	if w := h.weights(); w[key] != 0 {
		t.Fatalf("table %v: the draining real left while it had connections", w)
	}
	h.table.SetConns(svcK, dst, kernel.Conns{})
	h.waitFor("drained: out", all(lacks(key), has(svc+" 127.0.0.3:80", 5)))
	if e := h.logs.FilterMessage("real server drained").All(); len(e) != 1 || e[0].ContextMap()["how"] != "no active connection left" {
		t.Errorf("drained log lines %v, want one saying no connection was left", e)
	}
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	h.waitFor("undrained: back in", has(key, 5))
}

// With a deadline a real leaves when it passes, connections or not; with
// quiescent = yes it stays at weight 0.
func TestDrainDeadline(t *testing.T) {
	for _, quiescent := range []bool{false, true} {
		v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 5))
		v.Settings.Quiescent = quiescent
		cfg := mkConfig("a.cf", v)
		h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
		h.opts.StateDir = t.TempDir()
		h.fake.set("127.0.0.2", true)
		h.run(cfg)
		key := svc + " 127.0.0.2:80"
		h.waitFor("in", has(key, 5))
		h.table.SetConns(plan.Service(v), plan.Destination(v, v.Reals[0], 5), kernel.Conns{Active: 3})
		h.drainFile(plan.DrainDir(cfg, h.opts.StateDir), "127.0.0.2", "2")
		h.waitLogged("real server drained", 1)
		how := h.logs.FilterMessage("real server drained").All()[0].ContextMap()["how"].(string)
		if !strings.Contains(how, "deadline passed with 3 active connections") {
			t.Errorf("drained: %q, want the deadline with 3 connections", how)
		}
		if quiescent {
			h.waitFor("quiescent: at 0 after the deadline", has(key, 0))
		} else {
			h.waitFor("out after the deadline", lacks(key))
		}
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// Inspect tells each real's state, the weights wanted and in the table,
// its last check and its failures.
func TestInspect(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 4), mkReal("127.0.0.3", 80, 2))
	h := start(t, mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.waitFor("one in", all(has(svc+" 127.0.0.2:80", 4), lacks(svc+" 127.0.0.3:80")))
	h.waitChecks("127.0.0.3", 5) // its third result reached the virtual
	ins, err := h.d.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	if len(ins.Instances) != 1 || len(ins.Instances[0].Virtuals) != 1 {
		t.Fatalf("inspection %+v: want one instance with one virtual", ins)
	}
	vi := ins.Instances[0].Virtuals[0]
	if vi.CheckType != "connect" || len(vi.Reals) != 2 {
		t.Fatalf("virtual %+v", vi)
	}
	up, down := vi.Reals[0], vi.Reals[1]
	if up.State != plan.StateUp || up.Wanted == nil || *up.Wanted != 4 || up.InTable == nil || *up.InTable != 4 ||
		up.Failures != 0 || up.LastCheck.IsZero() || up.Reason != "ok" || up.Since.IsZero() {
		t.Errorf("up real %+v", up)
	}
	if down.State != plan.StateDown || down.Wanted != nil || down.InTable != nil || down.Failures < 3 ||
		!strings.Contains(down.Reason, "refused") {
		t.Errorf("down real %+v: want down, out, 3 failures or more, refused", down)
	}
}

// TestInspectWhileReloading: an inspection whose virtuals answer after a
// reload changed them leaves them out of that answer; the instance once
// failed there, looking for the table of a virtual no longer its own, and
// its restart stopped every check.
func TestInspectWhileReloading(t *testing.T) {
	a := mkVirtual("10.0.0.1", 80, mkReal("10.1.0.1", 80, 1))
	changed := *a
	changed.Settings.CheckCount = 2 // the same virtual, changed by the reload
	h := start(t, mkConfig("a.cf", a))
	h.fake.set("10.1.0.1", true)
	keyA := "ipv4/tcp/10.0.0.1:80 10.1.0.1:80"
	h.waitFor("the real in", func(w map[string]int) bool { return w[keyA] == 1 })
	asked, release := make(chan struct{}, 1), make(chan struct{})
	hook := func() {
		select {
		case asked <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}
	inspectHook.Store(&hook)
	defer inspectHook.Store(nil)
	inspected := make(chan error, 1)
	go func() {
		_, err := h.d.Inspect()
		inspected <- err
	}()
	<-asked // the instance has asked its virtual, which waits
	if err := h.d.ReloadConfig(mkConfig("a.cf", &changed)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	close(release)
	if err := <-inspected; err != nil {
		t.Errorf("inspect: %v", err)
	}
	if failed := h.logs.FilterMessage("actor failed").All(); len(failed) > 0 {
		t.Errorf("%d actors failed, the first: %v", len(failed), failed[0].ContextMap())
	}
	h.fake.set("10.1.0.1", false)
	h.waitFor("the real still checked", func(w map[string]int) bool { _, ok := w[keyA]; return !ok })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}
