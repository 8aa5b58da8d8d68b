package plan

import (
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// FailOpen is a virtual's fail-open state (failopen = P%): when more of
// its real servers fail together than P% of them, the fault is more likely
// the director's (its network, its resolver, a full conntrack table) than
// theirs, and the daemon holds the table as it was instead of emptying it.
type FailOpen struct {
	// Since is when the table began to be held; zero while it is not.
	Since time.Time
	// Downs are when real servers went down, the recent ones only.
	Downs map[conf.RealID]time.Time
}

// Held reports whether the table of the virtual is held.
func (f FailOpen) Held() bool { return !f.Since.IsZero() }

// FailOpenWindow is how close together failures count as one event: the
// time a real takes to be judged down, failurecount checks apart, plus the
// longest timeout.
func FailOpenWindow(s conf.Settings) time.Duration {
	return time.Duration(max(1, s.FailureCount))*s.CheckInterval + max(s.CheckTimeout, s.NegotiateTimeout)
}

// Judge updates f at now after real r of v went to st, given the statuses
// of v's real servers (with r's new one). It opens when more than P% of
// the reals went down within FailOpenWindow of each other, and closes
// when less than P% are down or FailOpenHold after it opened. A real taken
// down on purpose (maintenance) is no failure: it never counts, and is
// never held.
func (f FailOpen) Judge(v *conf.Virtual, statuses map[conf.RealID]Status, r conf.RealID, st Status, deliberate bool, now time.Time) FailOpen {
	f = f.Recheck(v, statuses, now)
	if v.Settings.FailOpen <= 0 {
		return f
	}
	if st == Down && !deliberate {
		f.Downs[r] = now
	} else {
		delete(f.Downs, r)
	}
	return f.decide(v, statuses, now)
}

// Recheck is Judge without a change, for the end of the hold.
func (f FailOpen) Recheck(v *conf.Virtual, statuses map[conf.RealID]Status, now time.Time) FailOpen {
	if v.Settings.FailOpen <= 0 || len(v.Reals) == 0 {
		return FailOpen{}
	}
	// While the table is held, every real that went down since stays
	// held until it is up again; otherwise old failures are forgotten.
	window := FailOpenWindow(v.Settings)
	downs := make(map[conf.RealID]time.Time, len(f.Downs)+1)
	for id, t := range f.Downs {
		if statuses[id] == Down && (f.Held() || now.Sub(t) < window) {
			downs[id] = t
		}
	}
	f.Downs = downs
	return f.decide(v, statuses, now)
}

func (f FailOpen) decide(v *conf.Virtual, statuses map[conf.RealID]Status, now time.Time) FailOpen {
	p, n := v.Settings.FailOpen, len(v.Reals)
	if !f.Held() {
		window := FailOpenWindow(v.Settings)
		recent := 0
		for _, t := range f.Downs {
			if now.Sub(t) < window {
				recent++
			}
		}
		if recent*100 > p*n {
			f.Since = now
		}
		return f
	}
	down := 0
	for _, real := range v.Reals {
		if statuses[real.ID] == Down {
			down++
		}
	}
	if down*100 < p*n || f.Expired(v.Settings, now) {
		f.Since = time.Time{}
	}
	return f
}

// Expired reports whether the hold began FailOpenHold ago or more.
func (f FailOpen) Expired(s conf.Settings, now time.Time) bool {
	return f.Held() && now.Sub(f.Since) >= s.FailOpenHold
}

// HeldHealth is the health the table is written from: h itself, but for
// the virtuals whose table is held, where the real servers that went down
// together stay up. It copies only what it changes.
func HeldHealth(h Health, held map[conf.VirtualID]FailOpen) Health {
	out := h
	copied := false
	for vid, f := range held {
		if !f.Held() || len(f.Downs) == 0 {
			continue
		}
		if !copied {
			out = make(Health, len(h))
			for k, m := range h {
				out[k] = m
			}
			copied = true
		}
		m := make(map[conf.RealID]Status, len(h[vid]))
		for id, st := range h[vid] {
			m[id] = st
		}
		for id := range f.Downs {
			m[id] = Up
		}
		out[vid] = m
	}
	return out
}

// AnyHeld reports whether failopen holds the table of any virtual, so
// that HeldHealth differs from the health it is given.
func AnyHeld(held map[conf.VirtualID]FailOpen) bool {
	for _, f := range held {
		if f.Held() && len(f.Downs) > 0 {
			return true
		}
	}
	return false
}
