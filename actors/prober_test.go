package actors

import (
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// A real removed by a reload while its prober takes a check's result: the
// stop is queued on the goroutine that runs the prober's mailbox, the
// check's own, and the prober must still stop (it once waited there for
// that very check to end).
func TestProberStopsWhileTakingAResult(t *testing.T) {
	keep, gone := mkReal("127.0.0.2", 80, 1), mkReal("127.0.0.3", 80, 1)
	v := mkVirtual("10.0.0.1", 80, keep, gone)
	v.Settings.CheckInterval = 10 * time.Millisecond
	slow := func() { time.Sleep(50 * time.Millisecond) }
	checkDoneHook.Store(&slow)
	t.Cleanup(func() { checkDoneHook.Store(nil) })
	h := start(t, mkConfig("a.cf", v))
	h.fake.set("127.0.0.2", true)
	h.fake.set("127.0.0.3", true)
	h.waitChecks("127.0.0.3", 2)
	v2 := *v
	v2.Reals = []*conf.Real{keep}
	if err := h.d.ReloadConfig(mkConfig("a.cf", &v2)); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop: a prober is stuck halting on its own check's goroutine")
	}
}
