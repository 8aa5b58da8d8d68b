package main

import (
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// TestTuneGC: the daemon's GC percent, unless GOGC is set.
func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	if v, ok := os.LookupEnv("GOGC"); ok {
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	}
	os.Unsetenv("GOGC")
	tuneGC()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC: GC percent %d, want %d", got, gcPercent)
	}
	t.Setenv("GOGC", "100")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100: GC percent %d, want it left at 100", got)
	}
}

// TestProcessors: one processor up to oneProcessorChecks checks a second,
// counted over every configuration, every CPU above.
func TestProcessors(t *testing.T) {
	mk := func(reals int, interval time.Duration) *conf.Config {
		v := &conf.Virtual{Settings: conf.Settings{CheckInterval: interval}}
		for range reals {
			v.Reals = append(v.Reals, &conf.Real{})
		}
		return &conf.Config{Virtuals: []*conf.Virtual{v}}
	}
	for _, c := range []struct {
		name string
		cfgs []*conf.Config
		want int
	}{
		{"10 reals", []*conf.Config{mk(10, time.Second)}, 1},
		{"250 a second", []*conf.Config{mk(250, time.Second)}, 1},
		{"251 a second", []*conf.Config{mk(251, time.Second)}, 4},
		{"1,000 reals every 5 s", []*conf.Config{mk(1000, 5*time.Second)}, 1},
		{"two configurations", []*conf.Config{mk(200, time.Second), mk(200, time.Second)}, 4},
		{"no interval", []*conf.Config{mk(300, 0)}, 4},
	} {
		if got := processors(c.cfgs, 4); got != c.want {
			t.Errorf("%s: %d processors, want %d", c.name, got, c.want)
		}
	}
}
