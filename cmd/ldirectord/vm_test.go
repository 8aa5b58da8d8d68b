package main

import (
	"context"
	"flag"
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

// The tests named TestInVM* run the daemon against the real kernel's IPVS
// table. TestVM boots the VM once and runs them there; on the host they
// skip, because TestVM is what runs them.
var vmTests = append([]string{"TestInVMDaemon", "TestInVMFlapDamping", "TestInVMSlowStart", "TestInVMFailOpen", "TestInVMDrain", "TestInVMDrainDeadline"}, failoverTests...)

// failoverTests are the two directors' tests (failover_vm_test.go):
// TestVMFailover runs them alone.
var failoverTests = []string{"TestInVMFailoverDR", "TestInVMFailoverMasq", "TestInVMFailoverDRWithoutSync", "TestInVMFailoverMasqWithoutSync"}

func inGuest() bool { return os.Getenv(vm.GuestEnv) == "1" }

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestVM(t *testing.T) { runInVM(t, "^TestInVM", vmTests) }

// TestVMFailover boots the VM for the failover tests alone, so that go
// test -run Failover runs them; where TestVM runs too, it runs them.
func TestVMFailover(t *testing.T) {
	pattern, _, _ := strings.Cut(flag.Lookup("test.run").Value.String(), "/")
	if ok, _ := regexp.MatchString(pattern, "TestVM"); ok {
		t.Skip("TestVM runs the failover tests with the others")
	}
	runInVM(t, "^TestInVMFailover", failoverTests)
}

// runInVM builds this package's tests and the daemon, boots the VM and
// runs the tests that match pattern there: each of want must pass.
func runInVM(t *testing.T, pattern string, want []string) {
	if inGuest() {
		t.Skip("already in the VM")
	}
	if err := vm.CheckHost(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests, daemon := filepath.Join(dir, "ldirectord.test"), filepath.Join(dir, "ldirectord")
	for _, args := range [][]string{{"test", "-c", "-o", tests, "."}, {"build", "-o", daemon, "."}} {
		cmd := exec.Command(goTool(), args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	res, err := vm.Run(context.Background(), vm.Options{
		Binaries: []string{tests, daemon},
		Command:  "/bin/ldirectord.test",
		Args:     []string{"-test.run", pattern, "-test.v", "-test.count=1"},
		// The failover tests join their machines with a bridge.
		Modules: []string{"bridge"},
		Timeout: 20 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM run took %s; guest output:\n%s", res.Duration.Round(time.Millisecond), res.Output)
	if res.ExitCode != 0 {
		t.Fatalf("the in-VM tests failed (exit status %d); see the guest output above", res.ExitCode)
	}
	for _, name := range want {
		if !strings.Contains(res.Output, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass in the VM", name)
		}
	}
}

// TestInVMDaemon: the daemon keeps the kernel's table right as real servers
// die and return, on reload, and across a restart that changes nothing.
func TestInVMDaemon(t *testing.T) {
	if !inGuest() {
		t.Skip("needs the real kernel: TestVM runs this inside the VM")
	}
	e := newEnv(t)
	r1, r2 := newBackend(t, "127.0.0.2"), newBackend(t, "127.0.0.3")
	cfg := func(w2 int, extra string) string {
		return fastGlobals + "cleanstop = no\n" +
			httpVirtual("10.9.9.9:80", "fallback = 127.0.0.1:9 masq", r1.addr+" masq 2", r2.addr+" masq "+itoa(w2)) + extra
	}
	e.config(cfg(1, ""))
	e.mustLd("l.cf", "start")
	e.waitFor("both reals in", all(has(vip+" "+r1.addr, 2), has(vip+" "+r2.addr, 1), lacks(vip+" 127.0.0.1:9")))

	r2.down()
	e.waitFor("dead real out", all(has(vip+" "+r1.addr, 2), lacks(vip+" "+r2.addr)))
	r1.healthy.Store(false)
	e.waitFor("fallback when all are down", all(has(vip+" 127.0.0.1:9", 1), lacks(vip+" "+r1.addr)))
	r1.healthy.Store(true)
	r2.up()
	e.waitFor("both back, fallback out", all(has(vip+" "+r1.addr, 2), has(vip+" "+r2.addr, 1), lacks(vip+" 127.0.0.1:9")))

	// Someone flushes the table: the daemon puts it back.
	if out, err := exec.Command("/usr/sbin/ipvsadm", "-C").CombinedOutput(); err != nil {
		t.Fatalf("ipvsadm -C: %v %s", err, out)
	}
	e.waitFor("table repaired after ipvsadm -C", all(has(vip+" "+r1.addr, 2), has(vip+" "+r2.addr, 1)))

	e.config(cfg(5, httpVirtual("10.9.9.8:80", "", r1.addr+" masq 1")))
	e.mustLd("l.cf", "reload")
	e.waitFor("reloaded", all(has(vip+" "+r2.addr, 5), has("ipv4/tcp/10.9.9.8:80 "+r1.addr, 1)))

	before, changed := e.restartWatched()
	if changed != "" {
		t.Errorf("the table changed during a restart that changes nothing:\nbefore:\n%s\nduring:\n%s", before, changed)
	}
	e.mustLd("l.cf", "stop")
	if after := canonical(e.list()); after != before {
		t.Errorf("cleanstop = no: table after stop\n%s\nwant\n%s", after, before)
	}
	exec.Command("/usr/sbin/ipvsadm", "-C").Run()
}

func itoa(n int) string { return strconv.Itoa(n) }
