package kerneltest

import (
	"fmt"
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// TenThousand is the table the benchmarks measure at the project's target
// size: 100 services of 100 destinations, each destination's weight
// given by its service's and its own index.
func TenThousand(weight func(service, dest int) int) []kernel.Virtual {
	vs := make([]kernel.Virtual, 0, 100)
	for i := range 100 {
		v := kernel.Virtual{Service: tcp(fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), 80)}
		for j := range 100 {
			v.Destinations = append(v.Destinations, dest(fmt.Sprintf("10.1.%d.%d", i, j+1), 80, kernel.Masq, weight(i, j)))
		}
		vs = append(vs, v)
	}
	return vs
}

// Flip benchmarks sync: it syncs a once, then, in the loop, alternately c
// and a, each time expecting want changes.
func Flip(b *testing.B, sync func([]kernel.Virtual) ([]kernel.Change, error), a, c []kernel.Virtual, want int) {
	if _, err := sync(a); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	flip := false
	for b.Loop() {
		desired := a
		if flip = !flip; flip {
			desired = c
		}
		changes, err := sync(desired)
		if err != nil || len(changes) != want {
			b.Fatalf("%d changes, %v; want %d", len(changes), err, want)
		}
	}
}
