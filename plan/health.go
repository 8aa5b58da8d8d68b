package plan

import (
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
)

// Status is what the daemon knows about a real server.
type Status int

// A real server is Unknown until its first check, then Up or Down.
const (
	Unknown Status = iota
	Up
	Down
)

func (s Status) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "unknown"
}

// RealState is the health of one real server as its prober decides and
// keeps it.
type RealState struct {
	Status Status
	// Failures counts consecutive failed checks while the server is up
	// (the soft failures before failurecount is reached); Successes
	// counts consecutive good checks while it is down (rise).
	Failures  int
	Successes int
	// Round counts checks done, for checktype = N.
	Round int
	// Changes are the times of the recent changes of status, oldest
	// first, for flapdamping; Penalty is the hold of the last damping,
	// which grows while the real keeps flapping and decays while it does
	// not; until HeldUntil the real stays down whatever its checks say.
	Changes   []time.Time
	Penalty   time.Duration
	HeldUntil time.Time
}

// Rules are how check results move a real server between up and down;
// each rule beyond failurecount is off at its zero value.
type Rules struct {
	FailureCount int
	Rise         int
	FlapCount    int
	FlapWindow   time.Duration
}

// RulesOf are the rules the settings of a virtual give.
func RulesOf(s conf.Settings) Rules {
	return Rules{FailureCount: s.FailureCount, Rise: s.Rise, FlapCount: s.FlapCount, FlapWindow: s.FlapWindow}
}

// Transition says how a check result changed a real server.
type Transition int

// The transitions of Observe.
const (
	Same Transition = iota
	WentUp
	WentDown
	SoftFailure // failed, but fewer than failurecount times in a row
	Rising      // good, but fewer than rise times in a row since it went down
	// Damped: the real changed state more than flapdamping allows; it is
	// down now (whatever it was) and held so until HeldUntil.
	Damped
	// NoVerdict: the check could not judge the real, the director being
	// short of its own resources; nothing changed (see Judge).
	NoVerdict
)

// maxPenaltyWindows bounds a flapping real's hold, in flapdamping windows.
const maxPenaltyWindows = 8

// Observe applies one check result, at now, to a real server's state.
// Failures take an up server down only after failurecount of them in a
// row; a server that was never checked goes down on its first failure (it
// carries no traffic yet) and comes up on its first success. A down server
// comes back after rise good checks in a row. A server that changes state
// more than FlapCount times within FlapWindow is held down for a penalty:
// one window at first, doubled each time it is damped again before the
// last penalty decayed (it halves with every window of calm after the
// hold), at most maxPenaltyWindows windows.
func Observe(s RealState, ok bool, now time.Time, r Rules) (RealState, Transition) {
	s.Round++
	if ok {
		s.Failures = 0
		switch s.Status {
		case Up:
			return s, Same
		case Down:
			s.Successes++
			if now.Before(s.HeldUntil) {
				return s, Same
			}
			if s.Successes < max(1, r.Rise) {
				return s, Rising
			}
		}
		s.Successes = 0
		wasDown := s.Status == Down
		s.Status = Up
		if !wasDown {
			return s, WentUp
		}
		return damp(s, now, r, WentUp)
	}
	s.Successes = 0
	switch s.Status {
	case Down:
		return s, Same
	case Unknown:
		s.Status = Down
		return s, WentDown
	}
	s.Failures++
	if s.Failures < max(1, r.FailureCount) {
		return s, SoftFailure
	}
	s.Status = Down
	s.Failures = 0
	return damp(s, now, r, WentDown)
}

// Judge applies a check's result to a real server's state as Observe
// does, but for a down result that is the director's fault
// (checks.Result.DirectorFault): that says nothing of the real, which
// keeps its state, counts and round as they were, whatever its status.
// A director short of open files must never take out a healthy real,
// nor bring back a dead one.
func Judge(s RealState, res checks.Result, now time.Time, r Rules) (RealState, Transition) {
	if res.DirectorFault && !res.Up {
		return s, NoVerdict
	}
	return Observe(s, res.Up, now, r)
}

// damp records a change of state made at now and holds the real down when
// it is one change too many.
func damp(s RealState, now time.Time, r Rules, tr Transition) (RealState, Transition) {
	if r.FlapCount < 1 || r.FlapWindow <= 0 {
		return s, tr
	}
	recent := s.Changes[:0:0]
	for _, t := range s.Changes {
		if now.Sub(t) < r.FlapWindow {
			recent = append(recent, t)
		}
	}
	s.Changes = append(recent, now)
	if len(s.Changes) <= r.FlapCount {
		return s, tr
	}
	p := s.Penalty
	if !s.HeldUntil.IsZero() {
		for calm := now.Sub(s.HeldUntil); calm >= r.FlapWindow && p > 0; calm -= r.FlapWindow {
			p /= 2
		}
	}
	if p < r.FlapWindow {
		p = r.FlapWindow
	} else {
		p = min(2*p, maxPenaltyWindows*r.FlapWindow)
	}
	s.Status, s.Failures, s.Successes, s.Changes = Down, 0, 0, nil
	s.Penalty, s.HeldUntil = p, now.Add(p)
	return s, Damped
}

// Health is the status of every real server of a configuration, by virtual
// and real identity. Missing entries are Unknown.
type Health map[conf.VirtualID]map[conf.RealID]Status

// Get returns the status of one real server.
func (h Health) Get(v conf.VirtualID, r conf.RealID) Status {
	return h[v][r]
}

// Set records the status of one real server.
func (h Health) Set(v conf.VirtualID, r conf.RealID, s Status) {
	m := h[v]
	if m == nil {
		m = map[conf.RealID]Status{}
		h[v] = m
	}
	m[r] = s
}

// AnyUp reports whether a real server of v is up: when none is, the
// fallback server takes the traffic.
func AnyUp(v *conf.Virtual, statuses map[conf.RealID]Status) bool {
	for _, r := range v.Reals {
		if statuses[r.ID] == Up {
			return true
		}
	}
	return false
}
