package actors

import (
	"context"
	"fmt"
	"runtime/metrics"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

func histogram(counts ...uint64) *metrics.Float64Histogram {
	// Buckets: [-Inf,0) [0,1ms) [1ms,100ms) [100ms,1s) [1s,+Inf)
	return &metrics.Float64Histogram{Counts: counts, Buckets: []float64{negInf(), 0, 0.001, 0.1, 1, posInf()}}
}

func negInf() float64 { var z float64; return -1 / z }
func posInf() float64 { var z float64; return 1 / z }

func TestWaitP99(t *testing.T) {
	prev := histogram(0, 1000, 50, 0, 0)
	cases := []struct {
		name string
		cur  *metrics.Float64Histogram
		want time.Duration
	}{
		{"quick waits", histogram(0, 1990, 60, 0, 0), 0},
		{"a few waits over a millisecond", histogram(0, 1950, 100, 0, 0), time.Millisecond},
		{"a tail of long waits", histogram(0, 1900, 50, 95, 5), 100 * time.Millisecond},
		{"starved", histogram(0, 1000, 50, 10, 200), time.Second},
		{"too few events to tell", histogram(0, 1005, 50, 0, 9), 0},
		{"a reading of another shape", histogram(0, 1), 0},
	}
	for _, c := range cases {
		if got := waitP99(prev, c.cur); got != c.want {
			t.Errorf("%s: waitP99 = %v, want %v", c.name, got, c.want)
		}
	}
	if got := waitP99(nil, prev); got != 0 {
		t.Errorf("no earlier reading: %v, want 0", got)
	}
}

func TestGateWaitsForRoomOrContext(t *testing.T) {
	g := newGate(zap.NewNop(), nil)
	g.limit = 2
	ctx := context.Background()
	for range 2 {
		if err := g.enter(ctx); err != nil {
			t.Fatal(err)
		}
	}
	entered := make(chan struct{})
	go func() {
		if err := g.enter(ctx); err == nil {
			close(entered)
		}
	}()
	select {
	case <-entered:
		t.Fatal("a third check entered a gate limited to 2")
	case <-time.After(50 * time.Millisecond):
	}
	g.leave()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("a check still waits after another left")
	}
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if err := g.enter(cctx); err == nil {
		t.Fatal("a check entered a full gate; want it to wait until its context ended")
	}
	var nilGate *gate
	if err := nilGate.enter(cctx); err != nil {
		t.Fatalf("a nil gate refused: %v", err)
	}
	nilGate.leave()
}

// TestGateHoldsChecksBackWhenStarved: with the limit set as a starved
// sampler sets it, no more checks run at once than the limit, every real
// server is still checked, and the log says so; as the CPU comes back the
// limit grows and is lifted.
func TestGateHoldsChecksBackWhenStarved(t *testing.T) {
	var reals []*conf.Real
	h := &harness{t: t, table: newMemory(), fake: newFakeChecks()}
	for i := range 100 {
		ip := fmt.Sprintf("127.0.2.%d", i+1)
		reals = append(reals, mkReal(ip, 80, 1))
		h.fake.blackhole(ip, true) // each check takes its whole timeout
	}
	v := mkVirtual("10.0.0.3", 80, reals...)
	v.Settings.CheckTimeout = 300 * time.Millisecond
	h.run(mkConfig("a.cf", v))
	g := h.d.gate
	g.stop() // the test plays the sampler
	deadline := time.Now().Add(5 * time.Second)
	for h.fake.mostRunning() < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	g.setLimit(time.Second)
	g.mu.Lock()
	limit := g.limit
	g.mu.Unlock()
	if limit < plan.MinAdmission || limit >= 100 {
		t.Fatalf("limit %d after starvation with about 100 checks in flight", limit)
	}
	h.waitFor("the warning", func(map[string]int) bool { return h.logs.FilterMessageSnippet("short of CPU").Len() > 0 })
	time.Sleep(400 * time.Millisecond) // the checks begun before end
	h.fake.resetMost()
	before := map[string]int{}
	for _, r := range reals {
		before[r.Addr.String()] = h.fake.count(r.Addr.String())
	}
	time.Sleep(2 * time.Second)
	if most := h.fake.mostRunning(); most > limit {
		t.Fatalf("%d checks ran at once under a limit of %d", most, limit)
	}
	for _, r := range reals {
		if h.fake.count(r.Addr.String()) == before[r.Addr.String()] {
			t.Fatalf("real %s not checked in 2s under a limit of %d: checks must run late, not never", r.Addr, limit)
		}
	}
	for i := 0; i < 100; i++ {
		g.setLimit(0)
		g.mu.Lock()
		lifted := g.limit == 0
		g.mu.Unlock()
		if lifted {
			break
		}
	}
	h.waitFor("the all-clear", func(map[string]int) bool { return h.logs.FilterMessageSnippet("CPU enough again").Len() > 0 })
}
