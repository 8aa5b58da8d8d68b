package plan

import (
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// Ramps are the real servers whose weight ramps up after they came back
// from down (slowstart), by virtual: when each came back.
type Ramps map[conf.VirtualID]map[conf.RealID]time.Time

// Start records that real r of v came back at t.
func (rs Ramps) Start(v conf.VirtualID, r conf.RealID, t time.Time) {
	m := rs[v]
	if m == nil {
		m = map[conf.RealID]time.Time{}
		rs[v] = m
	}
	m[r] = t
}

// Stop ends the ramp of real r of v, if it has one: it went down.
func (rs Ramps) Stop(v conf.VirtualID, r conf.RealID) {
	delete(rs[v], r)
}

// RampWeight is, at now, the weight of a real of weight w that came back at
// since, with slowstart d: from 1 up to w in whole seconds of the clock, so
// that every real of a virtual steps at the same moments and its table is
// written at most once a second; done once since+d has passed.
func RampWeight(w int, since, now time.Time, d time.Duration) (weight int, done bool) {
	if d <= 0 || w <= 1 || !now.Before(since.Add(d)) {
		return w, true
	}
	elapsed := now.Truncate(time.Second).Sub(since)
	if elapsed <= 0 {
		return 1, false
	}
	return max(1, int(int64(w)*int64(elapsed)/int64(d))), false
}

// SlowStart lowers, at now, the weights of the ramping real servers in vs,
// the desired table of cfg (one kernel.Virtual per virtual, in order), and
// forgets the ramps that are over. It returns when the next step is due,
// zero when no ramp is left.
func SlowStart(cfg *conf.Config, vs []kernel.Virtual, ramps Ramps, now time.Time) time.Time {
	var next time.Time
	for i, v := range cfg.Virtuals {
		m := ramps[v.ID]
		if len(m) == 0 || i >= len(vs) {
			continue
		}
		d := v.Settings.SlowStart
		for _, r := range v.Reals {
			since, ok := m[r.ID]
			if !ok {
				continue
			}
			w, done := RampWeight(r.Weight, since, now, d)
			if done {
				delete(m, r.ID)
				continue
			}
			want := Destination(v, r, r.Weight)
			for j, dst := range vs[i].Destinations {
				if dst.Addr == want.Addr && dst.Port == want.Port && dst.Weight == r.Weight {
					vs[i].Destinations[j].Weight = w
				}
			}
			step := now.Truncate(time.Second).Add(time.Second)
			if next.IsZero() || step.Before(next) {
				next = step
			}
		}
	}
	return next
}
