package plan

import (
	"testing"
	"time"
)

func TestNextAdmission(t *testing.T) {
	starved, fine := time.Second, 10*time.Millisecond
	cases := []struct {
		name            string
		limit, inFlight int
		wait            time.Duration
		want            int
	}{
		{"no limit while the CPU keeps up", 0, 5000, fine, 0},
		{"starved: half the checks in flight", 0, 1000, starved, 500},
		{"starved again: half again", 500, 500, starved, 250},
		{"never below the floor", 20, 20, starved, MinAdmission},
		{"starved with few checks: the floor", 0, 3, starved, MinAdmission},
		{"recovering: an eighth more", 400, 400, fine, 450},
		{"recovering from the floor: at least one more", 16, 16, fine, 18},
		{"lifted once it no longer binds", 400, 150, fine, 0},
		{"the threshold itself counts as starved", 0, 100, StarvedLatency, 50},
	}
	for _, c := range cases {
		if got := NextAdmission(c.limit, c.inFlight, c.wait); got != c.want {
			t.Errorf("%s: NextAdmission(%d, %d, %v) = %d, want %d", c.name, c.limit, c.inFlight, c.wait, got, c.want)
		}
	}
}
