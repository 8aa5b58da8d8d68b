package plan

import "time"

// A daemon short of CPU (a small VM, a host busy with other work) cannot
// keep every check's schedule; started all at once, its checks share the
// CPU so thinly that they outlive their timeouts, and healthy real servers
// flap. Better that checks wait their turn and run late, each then with
// the CPU to finish in time, as keepalived's event loop degrades. The
// admission limit bounds the checks in flight, only while the Go scheduler
// shows that runnable goroutines wait long for a CPU: a black-holed real
// server waiting out its timeout costs no CPU and must not be held back.
const (
	// StarvedLatency is the p99 time goroutines wait to run, over a
	// sampling period, above which the daemon counts as short of CPU.
	StarvedLatency = 500 * time.Millisecond
	// MinAdmission is the smallest limit on checks in flight.
	MinAdmission = 16
)

// NextAdmission is the limit on checks in flight (0: none) after a sampling
// period in which inFlight checks ran at the end and goroutines waited
// waitP99 to run. Starved, the limit halves (starting from half the checks
// in flight); not starved, it grows by an eighth, and is lifted once it no
// longer binds.
func NextAdmission(limit, inFlight int, waitP99 time.Duration) int {
	if waitP99 >= StarvedLatency {
		if limit == 0 {
			limit = inFlight
		}
		return max(MinAdmission, limit/2)
	}
	if limit == 0 {
		return 0
	}
	limit += max(1, limit/8)
	if limit > 2*inFlight+MinAdmission {
		return 0
	}
	return limit
}
