package actors

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

const (
	svc  = "ipv4/tcp/10.0.0.1:80"
	svc2 = "ipv4/tcp/10.0.0.2:80"
)

func TestStartFallbackAndRecovery(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 3), mkReal("127.0.0.3", 80, 1))
	v.Settings.Fallback = mkReal("127.0.0.1", 80, 9)
	h := start(t, mkConfig("a.cf", v))
	h.waitFor("fallback in while no real is up", all(has(svc, -1), has(svc+" 127.0.0.1:80", 1), lacks(svc+" 127.0.0.2:80")))

	h.fake.set("127.0.0.2", true)
	h.waitFor("first real in, fallback out", all(has(svc+" 127.0.0.2:80", 3), lacks(svc+" 127.0.0.1:80"), lacks(svc+" 127.0.0.3:80")))
	h.fake.set("127.0.0.3", true)
	h.waitFor("second real in", has(svc+" 127.0.0.3:80", 1))

	h.fake.set("127.0.0.2", false)
	h.fake.set("127.0.0.3", false)
	h.waitFor("fallback back when all are down", all(has(svc+" 127.0.0.1:80", 1), lacks(svc+" 127.0.0.2:80"), lacks(svc+" 127.0.0.3:80")))
}

func TestQuiescentAndReaddQuiescent(t *testing.T) {
	for _, readd := range []bool{false, true} {
		t.Run(map[bool]string{false: "readdquiescent=no", true: "readdquiescent=yes"}[readd], func(t *testing.T) {
			v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 5))
			v.Settings.Quiescent, v.Settings.ReaddQuiescent = true, readd
			h := start(t, mkConfig("a.cf", v))
			h.fake.set("127.0.0.2", true)
			h.waitFor("real up", has(svc+" 127.0.0.2:80", 5))
			h.fake.set("127.0.0.2", false)
			h.waitFor("real quiescent at weight 0", has(svc+" 127.0.0.2:80", 0))

			// The operator removes the quiescent real to drop its
			// persistent connections.
			vs, _ := h.table.List()
			if err := h.table.DelDestination(vs[0].Service, vs[0].Destinations[0]); err != nil {
				t.Fatal(err)
			}
			if readd {
				h.waitFor("real re-added at weight 0", has(svc+" 127.0.0.2:80", 0))
			} else {
				// Several drift checks (every 100ms) and checks pass.
				n := h.fake.count("127.0.0.2")
				for h.fake.count("127.0.0.2") < n+6 {
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond)
				if w := h.weights(); !lacks(svc + " 127.0.0.2:80")(w) {
					t.Fatalf("readdquiescent = no re-added the removed real: %v", w)
				}
			}
			h.fake.set("127.0.0.2", true)
			h.waitFor("real back at weight", has(svc+" 127.0.0.2:80", 5))
		})
	}
}

func TestFailureCount(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.Settings.FailureCount = 3
	h := start(t, mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	h.fake.set("127.0.0.2", false)
	n := h.fake.count("127.0.0.2")
	h.waitFor("real out", lacks(svc+" 127.0.0.2:80"))
	if failed := h.fake.count("127.0.0.2") - n; failed < 3 {
		t.Errorf("real removed after %d failed checks, want at least failurecount = 3", failed)
	}
	if h.logs.FilterMessage("real server soft failure").Len() < 2 {
		t.Errorf("want two soft failures logged, got %d", h.logs.FilterMessage("real server soft failure").Len())
	}
}

func TestCheckTypeOnOff(t *testing.T) {
	on := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	on.Check.Type = conf.CheckOn
	off := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.3", 80, 1))
	off.Check.Type = conf.CheckOff
	h := start(t, mkConfig("a.cf", on, off))
	h.fake.set("127.0.0.3", true)
	h.waitFor("checktype on in, off out", all(has(svc+" 127.0.0.2:80", 1), has(svc2, -1), lacks(svc2+" 127.0.0.3:80")))
	if h.fake.count("127.0.0.2")+h.fake.count("127.0.0.3") != 0 {
		t.Error("checktype on/off ran a check")
	}
}

func TestDriftRepairedAndWriteFailuresRetried(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	h := start(t, mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	// Someone runs ipvsadm -C.
	vs, _ := h.table.List()
	for _, x := range vs {
		if err := h.table.DelService(x.Service); err != nil {
			t.Fatal(err)
		}
	}
	h.waitFor("table repaired", has(svc+" 127.0.0.2:80", 1))

	vs, _ = h.table.List()
	if err := h.table.DelService(vs[0].Service); err != nil {
		t.Fatal(err)
	}
	h.table.FailNext(4, errors.New("netlink: injected failure"))
	deadline := time.Now().Add(15 * time.Second)
	for h.logs.FilterMessage("ipvs table update failed; will retry").Len() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the injected write failures were not logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.waitFor("table repaired after failed writes", has(svc+" 127.0.0.2:80", 1))
}

func TestAdoptsExistingTable(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 2))
	v.Settings.Cleanstop = false
	h := start(t, mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 2))
	if err := h.stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if w := h.weights(); !has(svc+" 127.0.0.2:80", 2)(w) {
		t.Fatalf("cleanstop = no did not leave the table: %v", w)
	}
	writes := h.table.Writes()
	h.run(mkConfig("a.cf", v))
	stop := h.watch(svc + " 127.0.0.2:80")
	for h.fake.count("127.0.0.2") < 8 {
		time.Sleep(10 * time.Millisecond)
	}
	if appeared, vanished := stop(); !appeared || vanished {
		t.Errorf("restart disturbed the adopted real (present %v, vanished %v)", appeared, vanished)
	}
	if n := h.table.Writes() - writes; n != 0 {
		t.Errorf("restart with an unchanged table wrote %d changes, want 0", n)
	}
}

func TestCleanstop(t *testing.T) {
	keep := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	keep.Settings.Cleanstop = false
	clean := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.3", 80, 1))
	h := start(t, mkConfig("a.cf", keep, clean))
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.waitFor("both up", all(has(svc+" 127.0.0.2:80", 1), has(svc2+" 127.0.0.3:80", 1)))
	if err := h.stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w := h.weights()
	if !has(svc+" 127.0.0.2:80", 1)(w) || !lacks(svc2)(w) {
		t.Errorf("after stop: %v; want %s kept (cleanstop = no) and %s removed", w, svc, svc2)
	}
}

func TestReloadByIdentity(t *testing.T) {
	a := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1), mkReal("127.0.0.4", 80, 1))
	gone := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.5", 80, 1))
	h := start(t, mkConfig("a.cf", a, gone))
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"} {
		h.fake.set(ip, true)
	}
	h.waitFor("all up", all(has(svc+" 127.0.0.2:80", 1), has(svc+" 127.0.0.3:80", 1), has(svc+" 127.0.0.4:80", 1), has(svc2+" 127.0.0.5:80", 1)))

	// Edit: .2 unchanged, .3 weight 7, .4 removed, .6 added; virtual 2
	// removed, virtual 3 added.
	a2 := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 7), mkReal("127.0.0.6", 80, 1))
	added := mkVirtual("10.0.0.3", 80, mkReal("127.0.0.7", 80, 1))
	stop := h.watch(svc + " 127.0.0.2:80")
	writes := h.table.Writes()
	if err := h.d.ReloadConfig(mkConfig("a.cf", a2, added)); err != nil {
		t.Fatalf("ReloadConfig: %v", err)
	}
	h.waitFor("reloaded table", all(
		has(svc+" 127.0.0.2:80", 1), has(svc+" 127.0.0.3:80", 7), lacks(svc+" 127.0.0.4:80"), has(svc+" 127.0.0.6:80", 1),
		lacks(svc2), has("ipv4/tcp/10.0.0.3:80 127.0.0.7:80", 1)))
	if appeared, vanished := stop(); !appeared || vanished {
		t.Errorf("unchanged real was disturbed by the reload (present %v, vanished %v)", appeared, vanished)
	}
	// edit .3, delete .4, add .6, delete dest+service 2, add service 3 + dest
	if n := h.table.Writes() - writes; n != 7 {
		t.Errorf("reload wrote %d changes, want 7", n)
	}
}

func TestReloadRefusesBadConfig(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	next := mkConfig("a.cf", v, mkVirtual("10.0.0.2", 80, mkReal("127.0.0.2", 80, 1)))
	calls := 0
	h := &harness{t: t, table: kernel.NewMemory(), fake: newFakeChecks()}
	h.load = func(path string) (*conf.Config, error) {
		calls++
		if calls == 1 {
			return nil, errors.New(path + ":3: virtual: bad address")
		}
		return next, nil
	}
	h.run(mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	err := h.d.Reload()
	if err == nil || !strings.Contains(err.Error(), "a.cf:3: virtual: bad address") {
		t.Fatalf("Reload of a bad file = %v, want its parse error", err)
	}
	h.waitFor("old configuration still serving", all(has(svc+" 127.0.0.2:80", 1), lacks(svc2)))
	if err := h.d.Reload(); err != nil {
		t.Fatalf("Reload of a good file: %v", err)
	}
	h.waitFor("new virtual in", all(has(svc+" 127.0.0.2:80", 1), has(svc2+" 127.0.0.2:80", 1)))
}

func (h *harness) rootChildren() []*actor.PID {
	h.t.Helper()
	res, err := h.d.system.Root.RequestFuture(h.d.root, &pidsQuery{}, 5*time.Second).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	return res.([]*actor.PID)
}

func (h *harness) virtualPIDs(instance *actor.PID) map[conf.VirtualID]*actor.PID {
	h.t.Helper()
	res, err := h.d.system.Root.RequestFuture(instance, &pidsQuery{}, 5*time.Second).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	return res.(map[conf.VirtualID]*actor.PID)
}

// A daemon stopped before it wrote anything still removes, with cleanstop
// = yes, the services of its configuration that it found in the table.
func TestCleanstopOfAdoptedTableBeforeFirstWrite(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.Settings.CheckTimeout = 5 * time.Second
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.blackhole("127.0.0.2", true) // its first check takes the whole timeout
	svcK := kernel.Service{Protocol: "tcp", Addr: v.Addr, Port: 80, Scheduler: "wrr"}
	if err := h.table.AddService(svcK); err != nil {
		t.Fatal(err)
	}
	other := kernel.Service{Protocol: "tcp", Addr: v.Addr, Port: 443, Scheduler: "wrr"}
	if err := h.table.AddService(other); err != nil {
		t.Fatal(err)
	}
	h.run(mkConfig("a.cf", v))
	h.waitChecks("127.0.0.2", 1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if w := h.weights(); !lacks(svc)(w) || !has("ipv4/tcp/10.0.0.1:443", -1)(w) {
		t.Errorf("after stop: %v; want our service removed and the foreign one left", w)
	}
}

// Reloading with another set of configurations (execute directives added
// or removed) starts and stops instances; the others reload.
func TestReloadAllStartsAndStopsInstances(t *testing.T) {
	a := mkConfig("a.cf", mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1)))
	b := mkConfig("b.cf", mkVirtual("10.0.0.2", 80, mkReal("127.0.0.3", 80, 1)))
	h := start(t, a)
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.waitFor("a served", has(svc+" 127.0.0.2:80", 1))
	a2 := mkConfig("a.cf", mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 4)))
	if err := h.d.ReloadAll(a2, b); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a reloaded and b started", all(has(svc+" 127.0.0.2:80", 4), has(svc2+" 127.0.0.3:80", 1)))
	if err := h.d.ReloadAll(a2); err != nil {
		t.Fatal(err)
	}
	h.waitFor("b stopped and its service removed", all(has(svc+" 127.0.0.2:80", 4), lacks(svc2)))
	if n := len(h.rootChildren()); n != 2 {
		t.Errorf("root has %d children after b left, want the writer and one instance", n)
	}
}

// The root waits for no child inside its Receive: while an instance is
// busy with a reload (its file read blocks here), the status and the
// supervision of the other instances go on.
func TestRootAnswersWhileAnInstanceIsBusy(t *testing.T) {
	a := mkConfig("a.cf", mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1)))
	b := mkConfig("b.cf", mkVirtual("10.0.0.2", 80, mkReal("127.0.0.3", 80, 1)))
	release := make(chan struct{})
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.load = func(path string) (*conf.Config, error) {
		if path == "a.cf" {
			<-release
			return a, nil
		}
		return b, nil
	}
	h.run(a, b)
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.waitFor("both up", all(has(svc+" 127.0.0.2:80", 1), has(svc2+" 127.0.0.3:80", 1)))

	reloaded := make(chan error, 1)
	go func() { reloaded <- h.d.Reload() }()
	time.Sleep(50 * time.Millisecond) // the reload reaches instance a, which blocks
	status := make(chan int, 1)
	go func() {
		reports, err := h.d.Status()
		if err != nil {
			t.Errorf("Status: %v", err)
		}
		status <- len(reports)
	}()
	select {
	case n := <-status:
		if n != 2 {
			t.Errorf("Status during a reload: %d reports, want 2", n)
		}
	case <-time.After(10 * time.Second):
		t.Error("Status waited for an instance's reload")
	}
	h.d.system.Root.Send(h.rootChildren()[2], &crash{})
	h.fake.set("127.0.0.3", false)
	h.waitFor("the other instance, restarted, still checks", lacks(svc2+" 127.0.0.3:80"))
	close(release)
	if err := <-reloaded; err != nil {
		t.Errorf("Reload: %v", err)
	}
}
