package actors

import (
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
)

// faultBurstGap is how long without a check that is the director's fault
// ends a burst of them.
const faultBurstGap = time.Minute

// directorFaults logs the checks that gave no verdict because the director
// itself was short of resources (checks.Result.DirectorFault): once when a
// burst of them starts, and once when checks judge again after a quiet
// faultBurstGap, with how many gave none. A director out of open files
// should not fill its log as well. Every prober of the daemon shares it.
type directorFaults struct {
	log   *zap.Logger
	mu    sync.Mutex
	last  time.Time // the last fault of the burst; zero: no burst
	first time.Time
	n     int
}

func newDirectorFaults(log *zap.Logger) *directorFaults { return &directorFaults{log: log} }

// fault notes a check of real that gave no verdict, for reason, at now.
func (d *directorFaults) fault(real conf.RealID, reason string, now time.Time) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.endIdle(now)
	starts := d.last.IsZero()
	if starts {
		d.first = now
	}
	d.last = now
	d.n++
	d.mu.Unlock()
	if starts {
		d.log.Error("the director is short of resources: checks give no verdict, real servers keep their state",
			zap.String("real", string(real)), zap.String("reason", reason))
	}
}

// verdict notes a check that judged its real, at now: the end of a burst
// that has been quiet for faultBurstGap.
func (d *directorFaults) verdict(now time.Time) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endIdle(now)
}

func (d *directorFaults) endIdle(now time.Time) {
	if d.last.IsZero() || now.Sub(d.last) < faultBurstGap {
		return
	}
	d.log.Warn("checks judge real servers again after the director was short of resources",
		zap.Int("without_verdict", d.n), zap.Time("from", d.first), zap.Time("until", d.last))
	d.last, d.first, d.n = time.Time{}, time.Time{}, 0
}
