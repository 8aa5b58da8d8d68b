package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// root is the repository root, where make runs.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// need fails the test when a program the test runs is missing, naming the
// Debian package that has it (make deps installs them all).
func need(t *testing.T, program, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %s (make deps)", program, pkg)
	}
	return p
}

// run runs a program with extra environment and returns its combined output
// and exit status; a program that cannot start at all fails the test.
func run(t *testing.T, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("run %s %v: %v", name, args, err)
		return "", -1
	}
}

// mustRun is run that expects exit status 0.
func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, rc := run(t, env, name, args...)
	if rc != 0 {
		t.Fatalf("%s %s: exit %d, want 0\n%s", name, strings.Join(args, " "), rc, out)
	}
	return out
}

var daemon struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// ldirectord builds the daemon once for the whole test binary and returns
// its path, in a directory that every user may read (ocf-tester runs the
// agent as nobody).
func ldirectord(t *testing.T) string {
	t.Helper()
	daemon.once.Do(func() {
		daemon.dir, daemon.err = os.MkdirTemp("", "ldirectord-packaging-")
		if daemon.err != nil {
			return
		}
		if daemon.err = os.Chmod(daemon.dir, 0o755); daemon.err != nil {
			return
		}
		daemon.path = filepath.Join(daemon.dir, "ldirectord")
		cmd := exec.Command("go", "build", "-trimpath", "-o", daemon.path, "./cmd/ldirectord")
		cmd.Dir = root(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			daemon.err = fmt.Errorf("go build ./cmd/ldirectord: %v\n%s", err, out)
		}
	})
	if daemon.err != nil {
		t.Fatalf("these tests run the real daemon, which does not build: %v", daemon.err)
	}
	return daemon.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if daemon.dir != "" {
		os.RemoveAll(daemon.dir)
	}
	if agentCopy.dir != "" {
		os.RemoveAll(agentCopy.dir)
	}
	os.Exit(code)
}

// instance is one configuration of the daemon run by a test: its files in a
// directory of its own, its IPVS table in a JSON file instead of the kernel
// (this host has none), its pid file in its own directory.
type instance struct {
	dir    string
	conf   string
	log    string
	table  string
	piddir string
	real   net.Listener
	env    []string
}

// newInstance writes a configuration named name with one virtual service on
// loopback whose one real server is a listener of the test, checked by TCP
// connect every second. The virtual service has the real server's port, as
// direct routing needs.
func newInstance(t *testing.T, name string) *instance {
	t.Helper()
	return newInstanceIn(t, t.TempDir(), name)
}

// newInstanceIn is newInstance with the files in dir, so that instances may
// share their table file and pid directory as separate configurations on
// one director do.
func newInstanceIn(t *testing.T, dir, name string) *instance {
	t.Helper()
	// ocf-tester and heartbeat scripts may run parts as other users; the
	// configuration must be readable to them.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the real server: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	in := &instance{
		dir:    dir,
		conf:   filepath.Join(dir, name),
		log:    filepath.Join(dir, name+".log"),
		table:  filepath.Join(dir, "ipvs.json"),
		piddir: filepath.Join(dir, "run"),
		real:   ln,
	}
	if err := os.MkdirAll(in.piddir, 0o755); err != nil {
		t.Fatal(err)
	}
	in.env = []string{"LDIRECTORD_TABLE=file:" + in.table, "LDIRECTORD_PIDDIR=" + in.piddir}
	port := ln.Addr().(*net.TCPAddr).Port
	cf := fmt.Sprintf(`# written by the packaging tests
checktimeout = 2
checkinterval = 1
quiescent = no
cleanstop = yes
logfile = "%s"

virtual = 127.0.0.2:%d
	real = 127.0.0.1:%d gate
	checktype = connect
	scheduler = rr
	protocol = tcp
`, in.log, port, port)
	if err := os.WriteFile(in.conf, []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
	// Whatever a test leaves running is stopped at its end.
	bin := ldirectord(t)
	t.Cleanup(func() {
		run(t, in.env, bin, in.conf, "stop")
		in.waitStatus(t, bin, 3)
	})
	return in
}

// pidfile is where the daemon keeps its pid: the configuration's base name.
func (in *instance) pidfile() string {
	return filepath.Join(in.piddir, "ldirectord."+filepath.Base(in.conf)+".pid")
}

// waitStatus polls "ldirectord conf status" until it exits with want; the
// bound is generous, for a loaded machine.
func (in *instance) waitStatus(t *testing.T, bin string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, rc := run(t, in.env, bin, in.conf, "status")
		if rc == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ldirectord %s status: exit %d after 30s, want %d\n%s", in.conf, rc, want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// port is the port of the instance's virtual service and real server.
func (in *instance) port() uint16 {
	return uint16(in.real.Addr().(*net.TCPAddr).Port)
}

// destinations reads the real servers of the instance's virtual service from
// its table file.
func (in *instance) destinations(t *testing.T) []kernel.Destination {
	t.Helper()
	if _, err := os.Stat(in.table); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tab, err := tablefile.Open(in.table)
	if err != nil {
		t.Fatalf("open the table file %s: %v", in.table, err)
	}
	vs, err := tab.List()
	if err != nil {
		t.Fatalf("read the table file %s: %v", in.table, err)
	}
	var out []kernel.Destination
	for _, v := range vs {
		if v.Service.Port == in.port() {
			out = append(out, v.Destinations...)
		}
	}
	return out
}

// waitFor polls cond until it holds or a generous bound passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s still waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fileContains reads path and says whether it contains s; a missing file
// contains nothing.
func fileContains(path, s string) bool {
	data, err := os.ReadFile(path)
	return err == nil && bytes.Contains(data, []byte(s))
}

// hasService says whether the instance's virtual service is in its table.
func (in *instance) hasService(t *testing.T) bool {
	t.Helper()
	if _, err := os.Stat(in.table); errors.Is(err, os.ErrNotExist) {
		return false
	}
	tab, err := tablefile.Open(in.table)
	if err != nil {
		t.Fatalf("open the table file %s: %v", in.table, err)
	}
	vs, err := tab.List()
	if err != nil {
		t.Fatalf("read the table file %s: %v", in.table, err)
	}
	for _, v := range vs {
		if v.Service.Port == in.port() {
			return true
		}
	}
	return false
}
