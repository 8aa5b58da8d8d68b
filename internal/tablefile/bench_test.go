package tablefile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// BenchmarkCachedFile10kOneChange measures the IPVS writer's path at
// 10,000 destinations as the daemon runs it under LDIRECTORD_TABLE=file:
// a kernel.Cached over the file table on /dev/shm (or the temporary
// directory), one weight flipping each time.
func BenchmarkCachedFile10kOneChange(b *testing.B) {
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "tablefile-bench-"); err == nil {
			dir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	ft, err := Open(filepath.Join(dir, "ipvs.json"))
	if err != nil {
		b.Fatal(err)
	}
	c := kernel.NewCached(ft, time.Hour)
	all := kerneltest.TenThousand(func(i, j int) int { return 1 })
	one := kerneltest.TenThousand(func(i, j int) int {
		if i == 0 && j == 0 {
			return 2
		}
		return 1
	})
	kerneltest.Flip(b, func(desired []kernel.Virtual) ([]kernel.Change, error) { return c.Sync(desired, nil) }, all, one, 1)
}
