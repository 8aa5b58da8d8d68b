package packaging

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What ldirectord-notify.service relies on: started with NOTIFY_SOCKET, as
// systemd starts a Type=notify unit, the daemon stays in the foreground and
// reports READY=1 (naming itself) once its virtual service is in the table,
// RELOADING=1 then READY=1 around a reload, and STOPPING=1 when it stops.
func TestDaemonSpeaksSdNotify(t *testing.T) {
	bin := ldirectord(t)
	in := newInstance(t, "notify.cf")
	sock := filepath.Join(in.dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", sock, err)
	}
	defer conn.Close()
	next := func(what string) string {
		t.Helper()
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s on NOTIFY_SOCKET: %v", what, err)
		}
		return string(buf[:n])
	}

	cmd := exec.Command(bin, in.conf, "start")
	cmd.Env = append(os.Environ(), append(in.env, "NOTIFY_SOCKET="+sock)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	ready := next("READY=1")
	if want := fmt.Sprintf("READY=1\nMAINPID=%d", cmd.Process.Pid); ready != want {
		t.Fatalf("first message %q, want %q: the process systemd started, ready", ready, want)
	}
	// Ready means the virtual service is installed; its real server joins
	// once its first check passes.
	if !in.hasService(t) {
		t.Errorf("READY=1 came before the virtual service was in the table")
	}
	waitFor(t, "the real server in the table", func() bool { return len(in.destinations(t)) == 1 })

	mustRun(t, in.env, bin, in.conf, "reload")
	if m := next("RELOADING=1"); !strings.HasPrefix(m, "RELOADING=1") {
		t.Errorf("after reload got %q, want RELOADING=1", m)
	}
	if m := next("READY=1 after the reload"); !strings.HasPrefix(m, "READY=1") {
		t.Errorf("after RELOADING=1 got %q, want READY=1", m)
	}

	mustRun(t, in.env, bin, in.conf, "stop")
	if m := next("STOPPING=1"); !strings.HasPrefix(m, "STOPPING=1") {
		t.Errorf("after stop got %q, want STOPPING=1", m)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("the foreground daemon exited with %v after stop, want 0", waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("the foreground daemon did not exit within 30s of stop")
	}
}
