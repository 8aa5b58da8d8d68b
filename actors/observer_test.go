package actors

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	checks []observedCheck
	writes []int // changes of each write that succeeded
	errs   int
	drift  []int
	gates  int
}

type observedCheck struct {
	virtual conf.VirtualID
	kind    string
	res     checks.Result
}

func (r *recorder) CheckDone(v conf.VirtualID, kind string, res checks.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, observedCheck{v, kind, res})
}

func (r *recorder) TableWritten(changes int, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs++
		return
	}
	r.writes = append(r.writes, changes)
}

func (r *recorder) DriftRepaired(changes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drift = append(r.drift, changes)
}

func (r *recorder) GateChanged(int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gates++
}

func (r *recorder) await(t *testing.T, what string, cond func(*recorder) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestObserverIsTold: the checks that run (each with its virtual, kind and
// duration; none for checktype = on), the writes of the table, a repair of
// what someone else changed in it, and the gate's samples reach the
// Observer.
func TestObserverIsTold(t *testing.T) {
	checked := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1))
	fixed := mkVirtual("10.0.0.2", 80, mkReal("127.0.0.4", 80, 1))
	fixed.Check.Type = conf.CheckOn
	fake, table, rec := newFakeChecks(), kernel.NewMemory(), &recorder{}
	fake.set("127.0.0.2", true)
	d, err := Start(Options{Log: zap.NewNop(), Table: table, Check: fake.check, Resync: 100 * time.Millisecond, Observer: rec},
		mkConfig("a.cf", checked, fixed))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()

	rec.await(t, "an up and a down check of the checked virtual", func(r *recorder) bool {
		var up, down bool
		for _, c := range r.checks {
			if c.virtual != checked.ID || c.kind != "connect" || c.res.Duration <= 0 {
				t.Errorf("check observed as %s %q, duration %v", c.virtual, c.kind, c.res.Duration)
				continue
			}
			up = up || c.res.Up
			down = down || !c.res.Up
		}
		return up && down
	})
	rec.await(t, "a write with changes", func(r *recorder) bool {
		for _, n := range r.writes {
			if n > 0 {
				return true
			}
		}
		return false
	})

	// Someone runs ipvsadm -d on the real that is up.
	vs, _ := table.List()
	for _, v := range vs {
		if v.Service.Addr.String() == "10.0.0.1" {
			if err := table.DelDestination(v.Service, v.Destinations[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec.await(t, "the drift repaired", func(r *recorder) bool { return len(r.drift) > 0 && r.drift[0] == 1 })
	rec.await(t, "a sample of the gate", func(r *recorder) bool { return r.gates > 0 })

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, c := range rec.checks {
		if c.virtual == fixed.ID {
			t.Errorf("checktype = on observed as a check: %+v", c)
		}
	}
	if rec.errs != 0 {
		t.Errorf("%d write errors observed on a table that never fails", rec.errs)
	}
}
