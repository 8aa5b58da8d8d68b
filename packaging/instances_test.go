package packaging

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Two configurations started side by side on one table: each has its own
// pid file and status, and stopping one leaves the other's virtual service
// alone.
func TestTwoInstancesSideBySide(t *testing.T) {
	bin := ldirectord(t)
	dir := t.TempDir()
	a := newInstanceIn(t, dir, "alpha.cf")
	b := newInstanceIn(t, dir, "beta.cf")
	for _, in := range []*instance{a, b} {
		mustRun(t, in.env, bin, in.conf, "start")
		in.waitStatus(t, bin, 0)
		waitFor(t, in.conf+"'s real server in the shared table", func() bool { return len(in.destinations(t)) == 1 })
	}
	pa, errA := os.ReadFile(a.pidfile())
	pb, errB := os.ReadFile(b.pidfile())
	if errA != nil || errB != nil || strings.TrimSpace(string(pa)) == strings.TrimSpace(string(pb)) {
		t.Fatalf("want two pid files naming two processes: %s=%q (%v), %s=%q (%v)", a.pidfile(), pa, errA, b.pidfile(), pb, errB)
	}

	mustRun(t, a.env, bin, a.conf, "stop")
	a.waitStatus(t, bin, 3)
	b.waitStatus(t, bin, 0)
	waitFor(t, "alpha's service to leave the table (cleanstop = yes)", func() bool { return !a.hasService(t) })
	if got := b.destinations(t); len(got) != 1 {
		t.Fatalf("stopping alpha disturbed beta's virtual service: its real servers are now %v", got)
	}
}

// One process runs a configuration and the one its execute directive names;
// both virtual services are in the table, and stop takes both out.
func TestExecuteRunsTheNamedConfigurationToo(t *testing.T) {
	bin := ldirectord(t)
	dir := t.TempDir()
	main := newInstanceIn(t, dir, "main.cf")
	other := newInstanceIn(t, dir, "other.cf")
	cf, err := os.ReadFile(main.conf)
	if err != nil {
		t.Fatal(err)
	}
	cf = append([]byte(fmt.Sprintf("execute = %q\n", other.conf)), cf...)
	if err := os.WriteFile(main.conf, cf, 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, main.env, bin, main.conf, "start")
	main.waitStatus(t, bin, 0)
	for _, in := range []*instance{main, other} {
		waitFor(t, in.conf+"'s real server in the table", func() bool { return len(in.destinations(t)) == 1 })
	}
	mustRun(t, main.env, bin, main.conf, "stop")
	main.waitStatus(t, bin, 3)
	for _, in := range []*instance{main, other} {
		waitFor(t, in.conf+"'s service to leave the table", func() bool { return !in.hasService(t) })
	}
}
