package actors

import (
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ldirectord-go/ldirectord/plan"
)

// A check that fails for the director's own shortage of resources is no
// verdict: a real that was up stays in the table through a burst of them,
// nothing is logged of the real going down or failing softly, and the
// burst is logged once; a real never judged stays unknown, out of the
// table, with no fallback.
func TestDirectorFaultKeepsTheReal(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1))
	v.Settings.FailureCount = 2
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	h.fake.set("127.0.0.2", true)
	h.fake.script("127.0.0.3", slices.Repeat([]string{"fault"}, 10000)...)
	h.run(mkConfig("a.cf", v))
	// In after the start grace: the other real is never judged.
	h.waitFor("the first real in", has(svc+" 127.0.0.2:80", 1))
	stop := h.watch(svc + " 127.0.0.2:80")
	const faults = 20
	h.fake.script("127.0.0.2", slices.Repeat([]string{"fault"}, faults)...)
	n := h.fake.count("127.0.0.2")
	h.waitChecks("127.0.0.2", n+faults+2) // past the burst, checks pass
	appeared, vanished := stop()
	if !appeared || vanished {
		t.Errorf("the up real left the table during the director's faults (appeared %v, vanished %v)", appeared, vanished)
	}
	if w := h.weights(); len(w) != 2 {
		t.Errorf("table %v, want the service and the up real only: a real never judged stays out", w)
	}
	for _, msg := range []string{"real server down", "real server soft failure", "real server up"} {
		want := 0
		if msg == "real server up" {
			want = 1
		}
		if n := h.logged(msg); n != want {
			t.Errorf("%q logged %d times, want %d", msg, n, want)
		}
	}
	if n := h.logged("the director is short of resources: checks give no verdict, real servers keep their state"); n != 1 {
		t.Errorf("the burst of faults logged %d times, want once", n)
	}
	reports, err := h.d.Status()
	if err != nil || len(reports) != 1 {
		t.Fatalf("Status: %v %v", reports, err)
	}
	if st := reports[0].Health.Get(v.ID, "127.0.0.3:80"); st != plan.Unknown {
		t.Errorf("the real never judged is %v, want unknown", st)
	}
}

// The end of a burst is logged at the first verdict after faultBurstGap
// without a fault, with the count; a fault after that starts a new burst.
func TestDirectorFaultsBurst(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	d := newDirectorFaults(zap.New(core))
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		d.fault("127.0.0.2:80", "socket: too many open files", t0.Add(time.Duration(i)*time.Second))
		d.verdict(t0.Add(time.Duration(i)*time.Second + time.Millisecond))
	}
	d.verdict(t0.Add(4*time.Second + faultBurstGap))
	d.fault("127.0.0.2:80", "socket: too many open files", t0.Add(10*time.Minute))
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	want := []string{
		"the director is short of resources: checks give no verdict, real servers keep their state",
		"checks judge real servers again after the director was short of resources",
		"the director is short of resources: checks give no verdict, real servers keep their state",
	}
	if len(got) != len(want) {
		t.Fatalf("logged %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logged %q, want %q", got, want)
		}
	}
	if n := logs.All()[1].ContextMap()["without_verdict"]; n != int64(5) {
		t.Errorf("without_verdict = %v, want 5", n)
	}
}
