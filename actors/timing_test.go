package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// A black-holed real server is out within checkinterval + checktimeout ×
// failurecount, however many other dead servers there are. With Perl's
// schedule (one check per interval) it would take three intervals.
func TestRemovalWithinIntervalPlusTimeouts(t *testing.T) {
	const (
		interval = 3 * time.Second
		timeout  = 100 * time.Millisecond
		fc       = 3
	)
	v := mkVirtual("10.0.0.1", 80, mkReal("127.0.0.2", 80, 1))
	v.Settings.CheckInterval, v.Settings.CheckTimeout, v.Settings.FailureCount = interval, timeout, fc
	var dead []*conf.Real
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	for i := 0; i < 200; i++ {
		ip := fmt.Sprintf("127.0.1.%d", i+1)
		dead = append(dead, mkReal(ip, 80, 1))
		h.fake.blackhole(ip, true)
	}
	crowd := mkVirtual("10.0.0.2", 80, dead...)
	crowd.Settings.CheckInterval, crowd.Settings.CheckTimeout = 200*time.Millisecond, time.Second
	h.fake.set("127.0.0.2", true)
	h.run(mkConfig("a.cf", v, crowd))
	h.waitFor("real up", has(svc+" 127.0.0.2:80", 1))
	h.fake.blackhole("127.0.0.2", true)
	failed := time.Now()
	h.waitFor("black-holed real out", lacks(svc+" 127.0.0.2:80"))
	took := time.Since(failed)
	// The bound is 3.3s; the slack is for a busy machine, and stays under
	// the 6s+ of one check per interval.
	if limit := interval + fc*timeout + 1500*time.Millisecond; took > limit {
		t.Errorf("black-holed real out after %v, want at most %v", took, limit)
	}
	t.Logf("black-holed real out after %v (bound %v)", took, interval+fc*timeout)
}
