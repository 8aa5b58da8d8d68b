package plan

import (
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// FirstSpread is the time the first checks of a virtual are spread over:
// its whole checkinterval, up to a second. Thousands of checks started
// together would each hold their connection, buffers and goroutines at
// once, and the daemon's peak memory would be theirs.
func FirstSpread(interval time.Duration) time.Duration {
	return min(interval, time.Second)
}

// StartGrace is how long a configuration waits at most for the first
// checks of its real servers before it writes the table with those not yet
// checked left out: the longest first-check offset and timeout, and a
// second. Until then a table left by an earlier run is adopted as it is.
func StartGrace(cfg *conf.Config) time.Duration {
	var longest time.Duration
	for _, v := range cfg.Virtuals {
		t := max(v.Settings.CheckTimeout, v.Settings.NegotiateTimeout)
		longest = max(longest, FirstSpread(v.Settings.CheckInterval)+t)
	}
	return longest + time.Second
}
