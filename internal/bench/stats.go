package bench

import (
	"slices"
	"time"
)

// Dist summarises a set of durations.
type Dist struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// Summarize returns the nearest-rank 50th and 99th percentiles and the
// maximum of ds; all zero when ds is empty.
func Summarize(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Dist{N: len(s), P50: rank(s, 50), P99: rank(s, 99), Max: s[len(s)-1]}
}

// rank is the nearest-rank percentile of the sorted s.
func rank(s []time.Duration, p int) time.Duration {
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

// Lateness returns how much later than interval each check came after the
// one before it, from the arrival times of one real server; only arrivals
// within [from, to) count. A check that comes early is negative lateness.
func Lateness(arrivals []time.Duration, interval, from, to time.Duration) []time.Duration {
	var out []time.Duration
	var prev time.Duration = -1
	for _, a := range arrivals {
		if a < from || a >= to {
			continue
		}
		if prev >= 0 {
			out = append(out, a-prev-interval)
		}
		prev = a
	}
	return out
}
