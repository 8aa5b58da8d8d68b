package plan

import (
	"hash/fnv"
	"time"
)

// FirstOffset is when the first check of the real named id starts after
// its prober does. Without checkjitter (jitter 0) it is rnd (in [0, 1))
// times FirstSpread, as ever. With it, it is a stable offset drawn from the
// real's identity over the whole checkinterval, so that thousands of reals
// start spread the same way after every restart.
func FirstOffset(interval time.Duration, jitter int, id string, rnd float64) time.Duration {
	if jitter <= 0 || interval <= 0 {
		return time.Duration(rnd * float64(FirstSpread(interval)))
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(interval))
}

// CheckDelay is the wait between two checks of a real: checkinterval,
// moved at random by up to jitter percent of it either way (rnd in [0, 1)),
// so that checks that fired together drift apart again.
func CheckDelay(interval time.Duration, jitter int, rnd float64) time.Duration {
	if jitter <= 0 {
		return interval
	}
	span := float64(interval) * float64(jitter) / 100
	return interval + time.Duration((2*rnd-1)*span)
}
