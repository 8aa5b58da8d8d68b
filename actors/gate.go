package actors

import (
	"context"
	"runtime/metrics"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/plan"
)

// gate admits checks under plan.NextAdmission's limit, which a sampler
// sets from the Go scheduler's own measure of how long runnable goroutines
// wait for a CPU. Without starvation there is no limit and a check never
// waits here. A nil *gate admits everything.
type gate struct {
	log *zap.Logger
	obs Observer // nil: none

	mu       sync.Mutex
	limit    int // 0: none
	inFlight int
	// queue holds the checks waiting, oldest first; each is let in, in
	// turn, by closing its channel, its place counted in inFlight.
	queue []chan struct{}

	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// schedLatencies is the runtime metric the sampler reads.
const schedLatencies = "/sched/latencies:seconds"

// gateEvery is the sampling period: short enough to react within a few
// checkintervals, long enough to hold many scheduling events.
const gateEvery = 500 * time.Millisecond

func newGate(log *zap.Logger, obs Observer) *gate {
	return &gate{log: log, obs: obs, quit: make(chan struct{}), done: make(chan struct{})}
}

// tryEnter lets a check in if it need not wait.
func (g *gate) tryEnter() bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 && (g.limit == 0 || g.inFlight < g.limit) {
		g.inFlight++
		return true
	}
	return false
}

// enter waits until a check may run, or ctx ends. Checks are let in in
// the order they came, so that none waits for ever behind later ones.
func (g *gate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	if g.tryEnter() {
		return nil
	}
	g.mu.Lock()
	if len(g.queue) == 0 && (g.limit == 0 || g.inFlight < g.limit) {
		// Room made since tryEnter.
		g.inFlight++
		g.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	g.queue = append(g.queue, turn)
	g.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, c := range g.queue {
		if c == turn {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return ctx.Err()
		}
	}
	// Let in just as the context ended: give the place on.
	g.inFlight--
	g.admit()
	return ctx.Err()
}

// leave ends a check that entered.
func (g *gate) leave() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.inFlight--
	g.admit()
	g.mu.Unlock()
}

// admit lets waiting checks in while there is room; the caller holds mu.
func (g *gate) admit() {
	for len(g.queue) > 0 && (g.limit == 0 || g.inFlight < g.limit) {
		g.inFlight++
		close(g.queue[0])
		g.queue = g.queue[1:]
	}
}

// setLimit applies plan.NextAdmission to what was seen over a period.
func (g *gate) setLimit(waitP99 time.Duration) {
	g.mu.Lock()
	before := g.limit
	g.limit = plan.NextAdmission(g.limit, g.inFlight, waitP99)
	after, inFlight := g.limit, g.inFlight
	g.admit()
	g.mu.Unlock()
	if g.obs != nil {
		// Every sample, not only when the limit moves: the checks in
		// flight change between moves, and this is where they are
		// counted.
		g.obs.GateChanged(after, inFlight)
	}
	switch {
	case before == 0 && after > 0:
		g.log.Warn("short of CPU: checks now wait their turn and run late",
			zap.Int("checks_in_flight", inFlight), zap.Int("limit", after), zap.Duration("scheduler_wait_p99", waitP99))
	case before > 0 && after == 0:
		g.log.Info("CPU enough again: checks no longer wait their turn", zap.Int("checks_in_flight", inFlight))
	}
}

// run samples the scheduler until stop.
func (g *gate) run() {
	defer close(g.done)
	sample := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(sample)
	prev := copyHistogram(sample[0].Value)
	tick := time.NewTicker(gateEvery)
	defer tick.Stop()
	for {
		select {
		case <-g.quit:
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		cur := copyHistogram(sample[0].Value)
		g.setLimit(waitP99(prev, cur))
		prev = cur
	}
}

func (g *gate) stop() {
	if g == nil {
		return
	}
	g.stopOnce.Do(func() { close(g.quit) })
	<-g.done
}

// copyHistogram keeps a reading: metrics.Read may reuse its memory.
func copyHistogram(v metrics.Value) *metrics.Float64Histogram {
	if v.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	h := v.Float64Histogram()
	return &metrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
}

// minWaitSamples is the fewest scheduling events a period needs for its
// p99 to mean anything. Few are enough: a daemon with few events has few
// checks in flight, which no limit holds back, and a starved one whose
// goroutines run for whole time slices makes only tens a period.
const minWaitSamples = 20

// waitP99 is the 99th percentile of the scheduling waits between two
// readings of the cumulative histogram: the lower bound of the bucket it
// falls in, so as not to overstate it. Too few events give 0.
func waitP99(prev, cur *metrics.Float64Histogram) time.Duration {
	if prev == nil || cur == nil || len(prev.Counts) != len(cur.Counts) {
		return 0
	}
	var total uint64
	delta := make([]uint64, len(cur.Counts))
	for i := range cur.Counts {
		if cur.Counts[i] >= prev.Counts[i] {
			delta[i] = cur.Counts[i] - prev.Counts[i]
		}
		total += delta[i]
	}
	if total < minWaitSamples {
		return 0
	}
	want := (total*99 + 99) / 100
	var seen uint64
	for i, n := range delta {
		seen += n
		if seen >= want {
			lower := cur.Buckets[i]
			if lower <= 0 {
				return 0
			}
			return time.Duration(lower * float64(time.Second))
		}
	}
	return 0
}
