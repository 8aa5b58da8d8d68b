package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
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
	syncMem := func(desired []Virtual) ([]Change, error) { return Sync(m, desired, nil) }
	benchFlip(b, syncMem, bigTable(func(i, j int) int { return 1 }), bigTable(func(i, j int) int { return 1 + j%10/9 }), 1000)
}

// benchFlip syncs a, then alternately b and a, each time expecting want
// changes.
func benchFlip(b *testing.B, sync func([]Virtual) ([]Change, error), a, c []Virtual, want int) {
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

// BenchmarkCachedFile10kOneChange measures the IPVS writer's path at
// 10,000 destinations: a Cached over the file stand-in on /dev/shm (or the
// temporary directory), one weight flipping each time.
func BenchmarkCachedFile10kOneChange(b *testing.B) {
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "kernel-bench-"); err == nil {
			dir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	ft, err := OpenFile(filepath.Join(dir, "ipvs.json"))
	if err != nil {
		b.Fatal(err)
	}
	c := NewCached(ft, time.Hour)
	one := bigTable(func(i, j int) int { return 1 + boolInt(i == 0 && j == 0) })
	benchFlip(b, func(desired []Virtual) ([]Change, error) { return c.Sync(desired, nil) }, bigTable(func(i, j int) int { return 1 }), one, 1)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
