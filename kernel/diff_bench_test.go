package kernel

import (
	"fmt"
	"testing"
)

// bigTable has 100 services of 100 destinations: 10,000 destinations.
func bigTable(weight func(i, j int) int) []Virtual {
	vs := make([]Virtual, 0, 100)
	for i := range 100 {
		v := Virtual{Service: svcTCP(fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), 80)}
		for j := range 100 {
			v.Destinations = append(v.Destinations, dst(fmt.Sprintf("10.1.%d.%d", i, j+1), 80, Masq, weight(i, j)))
		}
		vs = append(vs, v)
	}
	return vs
}

func benchDiff(b *testing.B, desired, actual []Virtual, want int) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(Diff(desired, actual, nil))
	}
	if n != want {
		b.Fatalf("%d changes, want %d", n, want)
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "dests/s")
}

func BenchmarkDiff10kUnchanged(b *testing.B) {
	t := bigTable(func(i, j int) int { return 1 })
	benchDiff(b, t, t, 0)
}

func BenchmarkDiff10kTenPercentWeights(b *testing.B) {
	desired := bigTable(func(i, j int) int { return 1 + j%10/9 })
	actual := bigTable(func(i, j int) int { return 1 })
	benchDiff(b, desired, actual, 1000)
}

func BenchmarkDiff10kFromEmpty(b *testing.B) {
	benchDiff(b, bigTable(func(i, j int) int { return 1 }), nil, 10100)
}

// BenchmarkSyncMemory10k measures List, Diff and Apply on the in-memory
// table when a tenth of the weights flip each time.
func BenchmarkSyncMemory10k(b *testing.B) {
	m := NewMemory()
	a := bigTable(func(i, j int) int { return 1 })
	c := bigTable(func(i, j int) int { return 1 + j%10/9 })
	if _, err := Sync(m, a, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	flip := false
	for b.Loop() {
		desired := a
		if flip = !flip; flip {
			desired = c
		}
		changes, err := Sync(m, desired, nil)
		if err != nil || len(changes) != 1000 {
			b.Fatalf("%d changes, %v; want 1000", len(changes), err)
		}
	}
}
