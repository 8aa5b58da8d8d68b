package plan

import "github.com/ldirectord-go/ldirectord/conf"

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

// RealState is the health of one real server as the prober keeps it; it
// survives a restart of the prober because the virtual actor holds a copy.
type RealState struct {
	Status Status
	// Failures counts consecutive failed checks while the server is up
	// (the soft failures before failurecount is reached).
	Failures int
	// Round counts checks done, for checktype = N.
	Round int
}

// Transition says how a check result changed a real server.
type Transition int

// The transitions of Observe.
const (
	Same Transition = iota
	WentUp
	WentDown
	SoftFailure // failed, but fewer than failurecount times in a row
)

// Observe applies one check result to a real server's state: a success
// brings it up and resets the failure counter; failures take an up server
// down only after failureCount of them in a row. A server that was never
// checked goes down on its first failure, as it carries no traffic yet.
func Observe(s RealState, ok bool, failureCount int) (RealState, Transition) {
	if failureCount < 1 {
		failureCount = 1
	}
	s.Round++
	if ok {
		s.Failures = 0
		if s.Status == Up {
			return s, Same
		}
		s.Status = Up
		return s, WentUp
	}
	switch s.Status {
	case Down:
		return s, Same
	case Unknown:
		s.Status = Down
		return s, WentDown
	}
	s.Failures++
	if s.Failures < failureCount {
		return s, SoftFailure
	}
	s.Status = Down
	s.Failures = 0
	return s, WentDown
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
