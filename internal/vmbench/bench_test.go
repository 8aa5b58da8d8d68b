package vmbench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkInVMPeers is the recorded run (DefaultParams), so that make
// bench's `go test -bench .` step includes it: it logs the table, writes
// the raw figures to the module's .cache/vmbench-results.json and reports
// each peer's detection p99 and CPU at 100 reals as metrics.
func BenchmarkInVMPeers(b *testing.B) {
	for i := 0; i < b.N; i++ {
		rep, err := Run(context.Background(), DefaultParams(), nil)
		if err != nil {
			b.Fatal(err)
		}
		var table strings.Builder
		rep.WriteTable(&table)
		b.Logf("guest kernel %s, VM run %.0fs\n%s", rep.Kernel, rep.VMSec, table.String())
		js, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			b.Fatal(err)
		}
		out := filepath.Join("..", "..", ".cache", "vmbench-results.json")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(out, js, 0o644); err != nil {
			b.Fatal(err)
		}
		for _, peer := range []string{Ours, Keepalived} {
			if f, ok := rep.Find(peer, 100); ok {
				b.ReportMetric(f.Refused.P99Ms, peer+"-refused-p99-ms")
				b.ReportMetric(f.BlackHole.P99Ms, peer+"-blackhole-p99-ms")
				b.ReportMetric(f.CPUPer1000, peer+"-cpu-s/1000checks")
			}
		}
	}
}
