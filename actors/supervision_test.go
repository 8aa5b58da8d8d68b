package actors

import (
	"testing"
	"time"
)

func (h *harness) waitChecks(addr string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for h.fake.count(addr) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %d checks of %s (have %d)", n, addr, h.fake.count(addr))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) failures() []string {
	var out []string
	for _, e := range h.logs.FilterMessage("actor failed").All() {
		out = append(out, e.ContextMap()["actor"].(string)+" "+e.ContextMap()["directive"].(string))
	}
	return out
}

func TestProberPanicRestartsItAloneWithItsState(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1))
	v.Settings.FailureCount = 3
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	// One soft failure, a panic, one more failure: with its failure count
	// kept across the restart the real stays in (2 of 3); had the prober
	// lost its state, the failure after the restart would take it out.
	h.fake.script("127.0.0.2", "up", "down", "panic", "down")
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.run(mkConfig("a.cf", v))
	stop2, stop3 := h.watch(svc+" 127.0.0.2:80"), h.watch(svc+" 127.0.0.3:80")
	h.waitChecks("127.0.0.2", 7)
	h.waitChecks("127.0.0.3", 7)
	if appeared, vanished := stop2(); !appeared || vanished {
		t.Errorf("real with a panicking check: present %v, vanished %v; want present throughout", appeared, vanished)
	}
	if appeared, vanished := stop3(); !appeared || vanished {
		t.Errorf("sibling real: present %v, vanished %v; want present throughout", appeared, vanished)
	}
	if f := h.failures(); len(f) != 1 || !endsWith(f[0], "RestartDirective") {
		t.Errorf("supervision events = %v, want one restart of the prober", f)
	}
}

func endsWith(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

func TestVirtualCrashLeavesSiblingsAlone(t *testing.T) {
	a := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	b := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.3", 80, 1))
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.run(mkConfig("a.cf", a, b))
	h.waitFor("both up", all(has(svc+" 127.0.0.2:80", 1), has(svc2+" 127.0.0.3:80", 1)))
	stopA, stopB := h.watch(svc+" 127.0.0.2:80"), h.watch(svc2+" 127.0.0.3:80")
	pids := h.virtualPIDs(h.rootChildren()[1])
	h.d.system.Root.Send(pids[a.ID], &crash{})
	n2, n3 := h.fake.count("127.0.0.2"), h.fake.count("127.0.0.3")
	h.waitChecks("127.0.0.2", n2+5)
	h.waitChecks("127.0.0.3", n3+5)
	if _, vanished := stopA(); vanished {
		t.Error("the crashed virtual's real left the table: its state was lost")
	}
	if _, vanished := stopB(); vanished {
		t.Error("the sibling virtual's real left the table")
	}
	if f := h.failures(); len(f) != 1 || f[0] != pids[a.ID].Id+" RestartDirective" {
		t.Errorf("supervision events = %v, want one restart of %s", f, pids[a.ID].Id)
	}
}

func TestVirtualEscalationIsBounded(t *testing.T) {
	a := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	b := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.3", 80, 1))
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.run(mkConfig("a.cf", a, b))
	h.waitFor("both up", all(has(svc+" 127.0.0.2:80", 1), has(svc2+" 127.0.0.3:80", 1)))
	pids := h.virtualPIDs(h.rootChildren()[1])
	for i := 0; i <= virtualRestarts; i++ {
		h.d.system.Root.Send(pids[a.ID], &crash{})
		time.Sleep(50 * time.Millisecond)
	}
	deadline := time.Now().Add(15 * time.Second)
	for h.logs.FilterMessage("virtual service stopped after repeated failures; its real servers are no longer checked").Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no bounded escalation logged; failures: %v", h.failures())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.virtualPIDs(h.rootChildren()[1]); got[a.ID] != nil || got[b.ID] == nil {
		t.Errorf("virtual actors after escalation: %v; want only %s", got, b.ID)
	}
	h.fake.set("127.0.0.3", false)
	h.waitFor("sibling still checked", lacks(svc2+" 127.0.0.3:80"))
}

func TestWriterCrashKeepsDesiredState(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	h.d.system.Root.Send(h.rootChildren()[0], &crash{})
	deadline := time.Now().Add(15 * time.Second)
	for len(h.failures()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("writer crash not seen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	vs, _ := h.table.List()
	if err := h.table.DelService(vs[0].Service); err != nil {
		t.Fatal(err)
	}
	h.waitFor("restarted writer repairs the table", has(svc+" 127.0.0.2:80", 1))
}

// An instance that fails is restarted by the root; until its real servers
// are checked again it writes nothing, so the table does not flap.
func TestInstanceCrashKeepsTheTable(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	stop := h.watch(svc + " 127.0.0.2:80")
	h.d.system.Root.Send(h.rootChildren()[1], &crash{})
	n := h.fake.count("127.0.0.2")
	h.waitChecks("127.0.0.2", n+5)
	if _, vanished := stop(); vanished {
		t.Error("the real left the table while its instance restarted")
	}
	if f := h.failures(); len(f) != 1 || !endsWith(f[0], "RestartDirective") {
		t.Errorf("supervision events = %v, want one restart of the instance", f)
	}
	h.fake.set("127.0.0.2", false)
	h.waitFor("restarted instance still checks", lacks(svc+" 127.0.0.2:80"))
}

// An instance restarted while one of its reals is down still takes the
// real in once it comes up (a soak run once lost 53 such reals).
func TestInstanceCrashThenRealUp(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1))
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v))
	h.waitFor("one real up", all(has(svc+" 127.0.0.2:80", 1), lacks(svc+" 127.0.0.3:80")))
	h.waitChecks("127.0.0.3", 3)
	h.d.system.Root.Send(h.rootChildren()[1], &crash{})
	n := h.fake.count("127.0.0.3")
	h.waitChecks("127.0.0.3", n+3)
	h.fake.set("127.0.0.3", true)
	h.waitFor("the real up after the restart", has(svc+" 127.0.0.3:80", 1))
}
