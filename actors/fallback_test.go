package actors

import (
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

// fallbackStatus polls the status until the fallback of vid is reported as
// want; plan.Unknown waits until it is not reported at all.
func (h *harness) fallbackStatus(vid conf.VirtualID, want plan.Status) plan.FallbackState {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		reports, err := h.d.Status()
		if err != nil {
			h.t.Fatalf("Status: %v", err)
		}
		if len(reports) == 1 {
			fb, ok := reports[0].Fallbacks[vid]
			if ok && fb.Status == want || !ok && want == plan.Unknown {
				return fb
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the status never reported the fallback of %s as %s: %+v", vid, want, reports)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The fallback server is checked (by connect) and reported in the log and
// the status, but its health changes nothing in the table: a fallback that
// is down still goes in when no real server is up, as in Perl.
func TestFallbackProberOnlyReports(t *testing.T) {
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 3))
	v.Check = conf.Check{Type: conf.CheckNegotiate, Service: "http", Receive: "alive"}
	v.Settings.Fallback = mkReal("127.0.0.1", 8080, 1)
	h := start(t, mkConfig("a.cf", v))

	fb := h.fallbackStatus(v.ID, plan.Down)
	if fb.Fallback.String() != "127.0.0.1:8080" {
		t.Errorf("fallback reported as %s, want 127.0.0.1:8080", fb.Fallback)
	}
	h.waitFor("a fallback that is down still in while no real is up", has(svc+" 127.0.0.1:8080", 1))

	h.fake.set("127.0.0.1", true)
	h.fallbackStatus(v.ID, plan.Up)
	if n := len(h.logs.FilterMessage("fallback server up").All()); n != 1 {
		t.Errorf("%d log lines \"fallback server up\", want 1", n)
	}
	h.fake.set("127.0.0.2", true)
	h.waitFor("the real in, the fallback out", all(has(svc+" 127.0.0.2:80", 3), lacks(svc+" 127.0.0.1:8080")))
	h.fake.set("127.0.0.1", false)
	h.fallbackStatus(v.ID, plan.Down)
	h.waitFor("the real stays while the fallback is down", all(has(svc+" 127.0.0.2:80", 3), lacks(svc+" 127.0.0.1:8080")))

	h.fake.mu.Lock()
	for _, tg := range h.fake.targets {
		if tg.Addr.String() == "127.0.0.1" && (tg.Check.Type != conf.CheckConnect || tg.Port != 8080) {
			t.Errorf("fallback checked with %s on port %d, want connect on 8080", tg.Check.Type, tg.Port)
		}
	}
	h.fake.mu.Unlock()

	// A reload without the fallback: its prober stops, its status goes.
	nv := *v
	nv.Settings.Fallback = nil
	if err := h.d.ReloadConfig(mkConfig("a.cf", &nv)); err != nil {
		t.Fatal(err)
	}
	h.fallbackStatus(v.ID, plan.Unknown)
	calls := h.fake.count("127.0.0.1")
	time.Sleep(300 * time.Millisecond) // six checkintervals
	// One check may have been on its way as the prober stopped.
	if n := h.fake.count("127.0.0.1"); n > calls+1 {
		t.Errorf("the removed fallback was checked %d more times", n-calls)
	}
}
