package bench

import (
	"strings"
	"testing"
	"time"
)

func TestTableRatiosAndBounds(t *testing.T) {
	s := time.Second
	rep := &Report{
		Options: Options{Interval: s, Timeout: 3 * s, Failures: []State{Refused}},
		Results: []Result{
			{Peer: Ours, N: 100, CheckType: "negotiate", StartComplete: true, StartUp: s, Window: 10 * s, Checks: 1000, CPUPer1000: 0.5, CheckRate: 1, PeakRSS: 20 << 20,
				Detection: []Detection{{Failure: "refused", K: 1, Latency: Dist{N: 1, P50: 500 * time.Millisecond, P99: 500 * time.Millisecond, Max: 500 * time.Millisecond}, Cap: 24 * s}}},
			{Peer: Perl, N: 100, CheckType: "negotiate", StartComplete: false, StartUp: 120 * s, Window: 10 * s, Checks: 1000, CPUPer1000: 2, CheckRate: 1, PeakRSS: 80 << 20,
				Detection: []Detection{{Failure: "refused", K: 1, Latency: Dist{N: 1, P50: 24 * s, P99: 24 * s, Max: 24 * s}, Missed: 1, Cap: 24 * s}}},
			{Peer: Floor, N: 100, CheckType: "negotiate", Window: 10 * s, Checks: 1000, CPUPer1000: 0.25, CheckRate: 1, PeakRSS: 5 << 20},
		},
	}
	table := rep.Table([]int{100}, []Peer{Floor, Ours, Perl})
	for _, want := range []string{
		"| N | figure | floor | ours | perl | ours/floor | ours/perl |",
		"| 100 negotiate | CPU s per 1,000 checks | 0.250 | 0.500 | 2.000 | 2.00 | 0.25 |",
		"| 100 negotiate | start-up to complete table | - | 1.00 s | > 120 s | - | ~0.01 |",
		"| 100 negotiate | detect 1 refused p99 | 1000 ms (schedule) | 500 ms | > 24000 ms (1 of 1 missed) | 0.50 | ~0.02 |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "reload") {
		t.Errorf("table has reload rows without a reload:\n%s", table)
	}
}
