package kernel_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/vm"
)

// The in-VM tests TestVM expects to pass; a test missing from the output
// (renamed, or skipped in the guest) fails the run.
var vmTests = []string{
	"TestInVMServices", "TestInVMSchedulers", "TestInVMDestinations",
	"TestInVMErrors", "TestInVMNamespace", "TestInVMAdoption", "TestInVMDataPath",
	"TestInVMSyncDaemonConformance", "TestInVMSyncDaemons", "TestInVMSyncDaemonAdoption",
	"TestInVMSyncDaemonNamespace", "TestInVMSyncDaemonStopAtOnce",
}

// buildGuestTests compiles this package's tests as a static binary for the
// guest.
func buildGuestTests(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "kernel.test")
	start := time.Now()
	cmd := exec.Command(goBin, "test", "-c", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the guest's test binary: %v\n%s", err, out)
	}
	t.Logf("built the guest's test binary in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// runInVM boots one VM and runs the test binary there with args.
func runInVM(t testing.TB, args ...string) vm.Result {
	t.Helper()
	if err := vm.CheckHost(); err != nil {
		t.Fatal(err)
	}
	bin := buildGuestTests(t)
	res, err := vm.Run(context.Background(), vm.Options{
		Binaries: []string{bin},
		Command:  "/bin/kernel.test",
		Args:     args,
		Timeout:  20 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM run (boot, tests, power-off) took %s", res.Duration.Round(time.Millisecond))
	return res
}

// TestVM runs every TestInVM* test in one boot of the real-kernel VM.
func TestVM(t *testing.T) {
	if os.Getenv(inVMEnv) == "1" {
		t.Skip("already in the VM")
	}
	res := runInVM(t, "-test.run", "^TestInVM", "-test.v", "-test.count=1")
	t.Logf("guest output:\n%s", res.Output)
	if res.ExitCode != 0 {
		t.Fatalf("the in-VM tests failed (exit status %d); see the guest output above", res.ExitCode)
	}
	for _, name := range vmTests {
		if !strings.Contains(res.Output, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass in the VM", name)
		}
	}
}

var benchLine = regexp.MustCompile(`(?m)^(BenchmarkInVM\S*?)(?:-\d+)?\s+\d+\s+.*$`)
var benchMetric = regexp.MustCompile(`([0-9.e+]+) (\S+/s)`)

// BenchmarkVM runs the BenchmarkInVM* benchmarks once in the VM and reports
// their change rates.
func BenchmarkVM(b *testing.B) {
	if os.Getenv(inVMEnv) == "1" {
		b.Skip("already in the VM")
	}
	res := runInVM(b, "-test.run", "^$", "-test.bench", "^BenchmarkInVM", "-test.benchtime", "1x", "-test.v")
	b.Logf("guest output:\n%s", res.Output)
	if res.ExitCode != 0 {
		b.Fatalf("the in-VM benchmarks failed (exit status %d)", res.ExitCode)
	}
	lines := benchLine.FindAllString(res.Output, -1)
	if len(lines) == 0 {
		b.Fatal("no BenchmarkInVM result in the guest output")
	}
	for _, line := range lines {
		name := strings.Fields(line)[0]
		for _, m := range benchMetric.FindAllStringSubmatch(line, -1) {
			v, err := strconv.ParseFloat(m[1], 64)
			if err == nil {
				// "BenchmarkInVMChanges/netlink/1000dests" reports as
				// "netlink-1000dests-changes/s".
				sub := strings.SplitN(name, "/", 2)
				if len(sub) == 2 {
					b.ReportMetric(v, strings.ReplaceAll(sub[1], "/", "-")+"-"+m[2])
				}
			}
		}
	}
}
