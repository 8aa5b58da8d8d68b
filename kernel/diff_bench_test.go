package kernel_test

import (
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

func benchDiff(b *testing.B, desired, actual []kernel.Virtual, want int) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(kernel.Diff(desired, actual, nil))
	}
	if n != want {
		b.Fatalf("%d changes, want %d", n, want)
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "dests/s")
}

func BenchmarkDiff10kUnchanged(b *testing.B) {
	t := kerneltest.TenThousand(func(i, j int) int { return 1 })
	benchDiff(b, t, t, 0)
}

func BenchmarkDiff10kTenPercentWeights(b *testing.B) {
	desired := kerneltest.TenThousand(func(i, j int) int { return 1 + j%10/9 })
	actual := kerneltest.TenThousand(func(i, j int) int { return 1 })
	benchDiff(b, desired, actual, 1000)
}

func BenchmarkDiff10kFromEmpty(b *testing.B) {
	benchDiff(b, kerneltest.TenThousand(func(i, j int) int { return 1 }), nil, 10100)
}

// BenchmarkSyncMemory10k measures List, Diff and Apply on the in-memory
// table when a tenth of the weights flip each time.
func BenchmarkSyncMemory10k(b *testing.B) {
	m := kernel.NewMemory()
	syncMem := func(desired []kernel.Virtual) ([]kernel.Change, error) { return kernel.Sync(m, desired, nil) }
	kerneltest.Flip(b, syncMem, kerneltest.TenThousand(func(i, j int) int { return 1 }), kerneltest.TenThousand(func(i, j int) int { return 1 + j%10/9 }), 1000)
}
