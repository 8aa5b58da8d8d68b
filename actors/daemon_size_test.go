package actors

import (
	"runtime"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// TestActorSystemSmall: an actor system costs the daemon well under a
// megabyte before its first actor. protoactor's process registry, at its
// library's defaults, made 32,768 maps and 3 MB with it, more than a small
// director's whole heap (the init of daemon.go).
func TestActorSystemSmall(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sys := actor.NewActorSystem()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(sys)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("an actor system allocated %d KB, want under 1,024", got>>10)
	}
}
