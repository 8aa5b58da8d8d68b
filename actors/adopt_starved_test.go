package actors

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/plan"
)

// A restart adopts the table as it is; a real server whose first check has
// not come back by the end of the start grace time (the director short of
// CPU, its checks held back) stays in the table until it is checked: a
// healthy real must not leave the table for the director's own slowness.
// Found by TestE2EKill9AndRestart on a loaded machine (a restart on 10,000
// adopted destinations wrote 1,533 changes with nothing changed); a real
// not yet checked is now optional in the desired table (plan.Optional).
func TestAdoptedRealOutlivesGrace(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	if err := h.table.AddService(plan.Service(v)); err != nil {
		t.Fatal(err)
	}
	if err := h.table.AddDestination(plan.Service(v), plan.Destination(v, v.Reals[0], 1)); err != nil {
		t.Fatal(err)
	}
	grace := plan.StartGrace(mkConfig("a.cf", v))
	var first atomic.Bool
	slow := func(ctx context.Context, tg checks.Target) checks.Result {
		if first.CompareAndSwap(false, true) {
			time.Sleep(grace + time.Second) // starved: back after the grace
		}
		return checks.Result{Up: true, Reason: "ok"}
	}
	stop := h.watch(svc + " 127.0.0.2:80")
	h.runOnWith(h.table, slow, mkConfig("a.cf", v))
	time.Sleep(grace + 2*time.Second)
	if appeared, vanished := stop(); !appeared || vanished {
		t.Errorf("the adopted healthy real, checked late: present %v, left the table %v; want present throughout", appeared, vanished)
	}
}
