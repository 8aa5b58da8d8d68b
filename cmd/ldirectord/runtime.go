package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// gcPercent is the daemon's GOGC when its environment sets none. The
// heap the daemon keeps is mostly its reals' long-lived state, and the
// checks make little garbage (the check loop, checks.Loop): a collector
// that lets the heap grow to twice what is live costs more memory than the
// collections it saves cost CPU. At 10,000 reals on the host, 50 took
// peak RSS from 156-161 MB to 101-106 MB at the same CPU per check; 25
// saved 10 MB more but collected so often in a burst of failures that
// detection's tail grew by 50-100 ms (BENCHMARKS.md).
const gcPercent = 50

// tuneGC sets the collector for the daemon unless GOGC says otherwise.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

// oneProcessorChecks is the most checks a second that the daemon makes on
// one processor. Below it, on a director with several CPUs, a second
// processor only has the runtime wake threads that look for work and find
// none: in the VM with two CPUs, one processor cut CPU per check by 17-20 %
// at 10 and 100 reals; at 1,000 it cut it too, but let failures wait
// longer for their check (refused p99 1.2 -> 1.9 s), and at 10,000 on the
// host checks ran late (lateness p99 13 -> 69 ms).
const oneProcessorChecks = 250

// processors is how many processors the daemon runs on for the
// configurations cfgs on a machine of ncpu CPUs.
func processors(cfgs []*conf.Config, ncpu int) int {
	var perSecond float64
	for _, c := range cfgs {
		for _, v := range c.Virtuals {
			interval := v.Settings.CheckInterval
			if interval <= 0 {
				interval = time.Second
			}
			perSecond += float64(len(v.Reals)) / interval.Seconds()
		}
	}
	if perSecond <= oneProcessorChecks {
		return 1
	}
	return ncpu
}

// tuneProcessors sizes the runtime to the configurations, at start and at
// each SIGHUP, unless GOMAXPROCS says otherwise. (An autoreload keeps
// the size until then.)
func tuneProcessors(cfgs []*conf.Config) {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(processors(cfgs, runtime.NumCPU()))
	}
}
