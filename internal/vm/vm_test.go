package vm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRunReportsOutputAndExitStatus(t *testing.T) {
	// A file given in Files must arrive with its content and mode.
	f := filepath.Join(t.TempDir(), "note")
	if err := os.WriteFile(f, []byte("it's here\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{
		Files:   map[string]string{"/data/note": f},
		Command: "/bin/sh",
		Args:    []string{"-c", `cat /data/note; test -x /data/note && echo executable; echo "arg: $0 $FOO"; ipvsadm -Ln; /usr/sbin/ip -o link show lo; modprobe ip_vs_rr && echo modprobe ok; exit 3`, "it's"},
		Env:     []string{"FOO=bar baz"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM run took %s", res.Duration.Round(time.Millisecond))
	if res.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3; output:\n%s", res.ExitCode, res.Output)
	}
	for _, want := range []string{"it's here\n", "executable\n", "arg: it's bar baz\n", "IP Virtual Server version", "lo: <LOOPBACK,UP", "modprobe ok\n"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	if strings.Contains(res.Output, "insmod") {
		t.Errorf("a module failed to load:\n%s", res.Output)
	}
}

func TestRunFailsLoudlyWithoutExitStatus(t *testing.T) {
	// The VM is stopped long before the guest could report (a full boot is
	// not needed to prove this, and each costs seconds): Run must say so,
	// and hand over the console it saw.
	res, err := Run(context.Background(), Options{Command: "/bin/true", Timeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatalf("Run returned no error; output:\n%s", res.Output)
	}
	for _, want := range []string{"was stopped after", "without reporting the exit status of /bin/true", "did the VM come up", "console log:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestRunRefusesDynamicBinary(t *testing.T) {
	_, err := Run(context.Background(), Options{Binaries: []string{"/usr/sbin/ipvsadm"}, Command: "/bin/ipvsadm"})
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("Run with a dynamic binary: err = %v, want one naming CGO_ENABLED=0", err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"a": "'a'", "it's": `'it'\''s'`, "": "''", "$x y": "'$x y'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckHostNamesMissingPackages(t *testing.T) {
	saved := hostPrograms
	defer func() { hostPrograms = saved }()
	hostPrograms = append(hostPrograms[:1:1], struct{ path, pkg string }{"/nonexistent/qemu-nothing", "qemu-nothing-pkg"})
	err := CheckHost()
	if err == nil || !strings.Contains(err.Error(), "qemu-nothing-pkg") {
		t.Errorf("CheckHost with a missing program: err = %v, want one naming package qemu-nothing-pkg", err)
	}
	if _, err := Run(context.Background(), Options{Command: "/bin/true"}); err == nil || !strings.Contains(err.Error(), "qemu-nothing-pkg") {
		t.Errorf("Run with a missing program: err = %v, want one naming package qemu-nothing-pkg", err)
	}
}

// TestVMExec runs the go test -exec helper the way go test does: from the
// package directory, with the program and its arguments.
func TestVMExec(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	t.Setenv("PATH", filepath.Dir(goBin)+":"+os.Getenv("PATH"))
	cmd := exec.Command("./vmexec.sh", "/bin/busybox", "sh", "-c", `pwd; cat testdata/hello.txt; echo "in vm: $`+GuestEnv+`"; exit 4`)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("vmexec: err = %v, want exit status 4; output:\n%s", err, out)
	}
	if want := "/pkg\nfrom the host's testdata\nin vm: 1\n"; string(out) != want {
		t.Errorf("vmexec output = %q, want %q", out, want)
	}
	t.Logf("vmexec: %s", strings.TrimSpace(string(exit.Stderr)))
}

// TestRunHostRoot runs host-installed programs in the guest, over the
// host's / shared through 9p: the Perl interpreter, keepalived and the
// host's ipvsadm against the guest kernel's IPVS.
func TestRunHostRoot(t *testing.T) {
	for _, p := range []struct{ path, pkg string }{{"/usr/bin/perl", "perl-base"}, {"/usr/sbin/keepalived", "keepalived"}} {
		if _, err := os.Stat(p.path); err != nil {
			t.Fatalf("%s is missing: install Debian package %s", p.path, p.pkg)
		}
	}
	f := filepath.Join(t.TempDir(), "note")
	if err := os.WriteFile(f, []byte("carried over\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{
		HostRoot: true,
		Files:    map[string]string{"/etc/ha.d/note": f},
		Command:  "sh",
		Args: []string{"-c", `set -e; perl -v | grep 'This is perl'; keepalived --version 2>&1 | head -1
cat /etc/ha.d/note; echo written > /etc/guest-only; cat /etc/guest-only
test -e /usr/share/perl5 && echo "host tree here"
ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -Ln | grep -c 10.0.0.1:80
grep -q '^9p ' /proc/modules && echo 9p loaded; echo "in vm: $` + GuestEnv + `"; pwd`},
		Dir:      "/etc",
		MemoryMB: 768,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM run with the host's / took %s", res.Duration.Round(time.Millisecond))
	if res.ExitCode != 0 {
		t.Fatalf("exit code = %d, want 0; output:\n%s", res.ExitCode, res.Output)
	}
	for _, want := range []string{"This is perl 5", "Keepalived v", "carried over\n", "written\n", "host tree here\n", "\n1\n", "9p loaded\n", "in vm: 1\n", "/etc\n"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	if _, err := os.Stat("/etc/guest-only"); err == nil {
		t.Errorf("a file written in the guest reached the host's /etc")
	}
}
