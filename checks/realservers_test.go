package checks

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This file starts the real daemons from Debian that the checks are tested
// against, each with a configuration of the test's own on a free loopback
// port, and stops them when the test ends.

// loopbackPort is a port on loopback where nothing listens now.
func loopbackPort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(refused(t, "tcp4"))
	p, _ := strconv.Atoi(port)
	return p
}

// openDir is a directory the daemons' unprivileged users may enter: the
// test's temporary directories are private to root.
func openDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runDaemon runs the program of the Debian package pkg in the foreground
// and stops its whole process group when the test ends; its output is
// shown when the test failed.
func runDaemon(t *testing.T, pkg, program string, args ...string) {
	t.Helper()
	path := need(t, program, pkg)
	cmd := exec.Command(path, args...)
	out := &capped{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", program, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", program, out.String())
		}
	})
}

// waitTCP waits until addr accepts connections.
func waitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitUp runs the check until it passes, for daemons whose readiness only
// the protocol itself shows.
func waitUp(t *testing.T, tg Target) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r := Run(ctx, tg)
		cancel()
		if r.Up {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon never answered the check: %s", r.Reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func putFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exim starts an Exim SMTP daemon on 127.0.0.1 and ::1; acls is added to
// its ACL section (e.g. to refuse connections) and returns the port.
func exim(t *testing.T, acl string) int {
	t.Helper()
	dir := openDir(t)
	port := loopbackPort(t)
	for _, d := range []string{"spool", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "exim.conf")
	putFile(t, conf, strings.NewReplacer("DIR", dir, "PORT", strconv.Itoa(port)).Replace(`
primary_hostname = mx.test.invalid
daemon_smtp_ports = PORT
local_interfaces = <; 127.0.0.1 ; ::1
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
pid_file_path = DIR/exim.pid
notifier_socket = DIR/notifier
keep_environment =
tls_advertise_hosts =
exim_user = root
exim_group = root
never_users =
acl_smtp_rcpt = deny_all
`+acl+`
begin acl
deny_all:
  deny
begin routers
begin transports
`))
	runDaemon(t, "exim4-daemon-light", "exim4", "-bdf", "-C", conf)
	waitTCP(t, "127.0.0.1:"+strconv.Itoa(port))
	return port
}
