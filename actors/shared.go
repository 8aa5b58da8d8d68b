package actors

// sharedChecks lets one check serve every prober that would run the same
// check of the same real within one checkinterval (sharedchecks = yes):
// the first prober runs it, those that come while it runs wait for its
// verdict, and those that come later take it while it is fresh.

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
)

type sharedChecks struct {
	mu      sync.Mutex
	entries map[string]*sharedEntry
	calls   int
}

// sharing says whether a configuration shares its checks; its instance
// sets it at start and at each reload, its probers read it at each check.
type sharing struct{ on atomic.Bool }

// checks is where a prober of the configuration runs its checks through:
// all or nil when the configuration does not share them.
func (s *sharing) checks(all *sharedChecks) *sharedChecks {
	if s == nil || !s.on.Load() {
		return nil
	}
	return all
}

type sharedEntry struct {
	done chan struct{} // closed once res is set
	res  checks.Result
	at   time.Time // when res was set
}

// sweepEvery is how many calls pass between sweeps of entries no prober
// asked for lately (their reals left with a reload).
const sweepEvery = 4096

func newSharedChecks() *sharedChecks {
	return &sharedChecks{entries: map[string]*sharedEntry{}}
}

// do returns the verdict of the check named key: the one in flight, or one
// made less than fresh ago, or run's.
func (s *sharedChecks) do(key string, fresh time.Duration, run func() checks.Result) checks.Result {
	s.mu.Lock()
	s.calls++
	if s.calls%sweepEvery == 0 {
		s.sweep(time.Now())
	}
	if e := s.entries[key]; e != nil {
		select {
		case <-e.done:
			if time.Since(e.at) < fresh {
				s.mu.Unlock()
				return e.res
			}
		default:
			s.mu.Unlock()
			<-e.done
			return e.res
		}
	}
	e := &sharedEntry{done: make(chan struct{})}
	s.entries[key] = e
	s.mu.Unlock()
	defer close(e.done)
	e.res = run()
	e.at = time.Now()
	return e.res
}

// sweep forgets verdicts older than a minute; the caller holds mu.
func (s *sharedChecks) sweep(now time.Time) {
	for k, e := range s.entries {
		select {
		case <-e.done:
			if now.Sub(e.at) > time.Minute {
				delete(s.entries, k)
			}
		default:
		}
	}
}
