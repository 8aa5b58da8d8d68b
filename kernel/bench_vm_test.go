package kernel_test

import (
	"fmt"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// How many destinations each round adds, edits and deletes. One ipvsadm
// process per change costs a fork and exec, far slower under qemu's TCG: a
// tenth as many keep the run short and the rate comparable.
const (
	benchDests        = 10000
	benchDestsIpvsadm = 1000
)

func benchDest(i int) kernel.Destination {
	return kernel.Destination{
		Addr:   netip.AddrFrom4([4]byte{10, 3, byte(i / 250), byte(i%250 + 1)}),
		Port:   80,
		Method: kernel.Masq,
		Weight: 1,
	}
}

// benchChanges adds, edits (weight) and deletes n destinations of one
// service through apply, and reports changes per second.
func benchChanges(b *testing.B, n int, apply func(kernel.Change) error) {
	svc := kernel.Service{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "wrr"}
	var elapsed time.Duration
	changes := 0
	for i := 0; i < b.N; i++ {
		flush(b)
		if err := apply(kernel.Change{Op: kernel.OpAddService, Service: svc}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, op := range []kernel.Op{kernel.OpAddDest, kernel.OpEditDest, kernel.OpDelDest} {
			for j := 0; j < n; j++ {
				d := benchDest(j)
				if op == kernel.OpEditDest {
					d.Weight = 2 + j%100
				}
				if err := apply(kernel.Change{Op: op, Service: svc, Destination: d}); err != nil {
					b.Fatalf("%s %s: %v", op, d.Key(), err)
				}
			}
		}
		elapsed += time.Since(start)
		changes += 3 * n
	}
	b.ReportMetric(float64(changes)/elapsed.Seconds(), "changes/s")
	b.Logf("%d changes (add, edit, delete %d destinations) in %s: %.0f changes/s",
		changes, n, elapsed.Round(time.Millisecond), float64(changes)/elapsed.Seconds())
}

// BenchmarkInVMChanges compares this package's netlink writer with one
// ipvsadm process per change, which is what the Perl ldirectord does. The
// kernel walks a service's destination list on every change, so the rate
// falls as the service grows: both writers are also measured at the same,
// smaller size.
func BenchmarkInVMChanges(b *testing.B) {
	inVM(b)
	netlink := func(n int) func(*testing.B) {
		return func(b *testing.B) {
			tab := openNetlink(b)
			benchChanges(b, n, func(c kernel.Change) error { return kernel.Apply(tab, []kernel.Change{c}) })
		}
	}
	b.Run(fmt.Sprintf("netlink/%ddests", benchDests), netlink(benchDests))
	b.Run(fmt.Sprintf("netlink/%ddests", benchDestsIpvsadm), netlink(benchDestsIpvsadm))
	b.Run(fmt.Sprintf("ipvsadm/%ddests", benchDestsIpvsadm), func(b *testing.B) {
		flush(b)
		benchChanges(b, benchDestsIpvsadm, func(c kernel.Change) error {
			// The Perl ldirectord runs each change through system(), a shell.
			cmd := exec.Command("sh", "-c", "exec /usr/sbin/ipvsadm "+c.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("ipvsadm %s: %v: %s", c, err, out)
			}
			return nil
		})
	})
}
