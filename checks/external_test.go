package checks

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func externalTarget(t *testing.T, typ conf.CheckType, command string) Target {
	tg := target(netip.MustParseAddrPort("127.0.0.2:8080"), typ, "")
	tg.Check.Command = command
	return tg
}

func TestExternal(t *testing.T) {
	t.Parallel()
	argsFile := filepath.Join(t.TempDir(), "args")
	ok := script(t, `echo "$@" > `+argsFile+"\nexit 0\n")
	expect(t, Run, externalTarget(t, conf.CheckExternal, ok), true, "exited 0")
	got, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "192.0.2.10 80 127.0.0.2 8080\n"; string(got) != want {
		t.Fatalf("checkcommand arguments %q, want %q", got, want)
	}

	failing := script(t, "echo 'backend says no' >&2\nexit 3\n")
	expect(t, Run, externalTarget(t, conf.CheckExternal, failing), false, `exited 3: "backend says no"`)

	expect(t, Run, externalTarget(t, conf.CheckExternal, "/nonexistent/check"), false, "no such file")
}

func TestExternalArgumentsIPv6AndFWMark(t *testing.T) {
	t.Parallel()
	argsFile := filepath.Join(t.TempDir(), "args")
	ok := script(t, `echo "$@" > `+argsFile+"\n")

	tg := externalTarget(t, conf.CheckExternal, ok)
	tg.Addr = netip.MustParseAddr("::1")
	tg.VirtualAddr = netip.MustParseAddr("2001:db8::1")
	expect(t, Run, tg, true, "exited 0")
	if got, _ := os.ReadFile(argsFile); string(got) != "[2001:db8::1] 80 [::1] 8080\n" {
		t.Fatalf("IPv6 arguments %q, want bracketed addresses", got)
	}

	tg = externalTarget(t, conf.CheckExternal, ok)
	tg.VirtualAddr, tg.VirtualPort, tg.FWMark = netip.Addr{}, 0, 42
	expect(t, Run, tg, true, "exited 0")
	if got, _ := os.ReadFile(argsFile); string(got) != "42 0 127.0.0.2 8080\n" {
		t.Fatalf("firewall-mark arguments %q, want the mark first", got)
	}
}

// A command that outlives the timeout is killed with every process it
// started, and the check ends within the timeout.
func TestExternalTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child")
	slow := script(t, "sleep 300 &\necho $! > "+pidFile+"\nwait\n")
	tg := externalTarget(t, conf.CheckExternal, slow)
	tg.Timeout = time.Second
	expect(t, Run, tg, false, "timeout after 1s waiting for "+slow+"; process group killed")

	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("script did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the timed-out command still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive is true while pid runs; a zombie waiting for its reaper is dead.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestExternalPerl(t *testing.T) {
	t.Parallel()
	need(t, "perl-base", "perl")
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.pl")
	// The same contract as external: four arguments, exit 0 when up.
	if err := os.WriteFile(ok, []byte(`exit(($ARGV[2] eq "127.0.0.2" && $ARGV[3] == 8080) ? 0 : 1);`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.pl")
	if err := os.WriteFile(bad, []byte(`print STDERR "down\n"; exit 2;`), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, Run, externalTarget(t, conf.CheckExternalPerl, ok), true, "exited 0")
	expect(t, Run, externalTarget(t, conf.CheckExternalPerl, bad), false, `exited 2: "down"`)
}
