package main

import (
	"os"
	"runtime/debug"
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
