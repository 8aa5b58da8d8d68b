package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen opens a datagram socket as systemd does and returns its name as
// $NOTIFY_SOCKET would carry it.
func listen(t *testing.T, abstract bool) (*net.UnixConn, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify.sock")
	if abstract {
		name = fmt.Sprintf("@ldirectord-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on unixgram %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, name
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("expected a datagram on the notify socket: %v", err)
	}
	return string(buf[:n])
}

func TestNotifyDeliversEachStateInOrder(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run(fmt.Sprintf("abstract=%v", abstract), func(t *testing.T) {
			conn, name := listen(t, abstract)
			t.Setenv(Env, name)
			states := []string{ReadyMainPID(), ReloadingNow(), Ready, Stopping}
			for _, s := range states {
				if err := Notify(s); err != nil {
					t.Fatalf("Notify(%q): %v", s, err)
				}
			}
			for _, want := range states {
				if got := receive(t, conn); got != want {
					t.Errorf("datagram = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestReloadingNowCarriesMonotonicClock(t *testing.T) {
	lines := strings.Split(ReloadingNow(), "\n")
	if len(lines) != 2 || lines[0] != Reloading || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("ReloadingNow() = %q, want RELOADING=1 and MONOTONIC_USEC=<n>", lines)
	}
	var usec int64
	if _, err := fmt.Sscanf(lines[1], "MONOTONIC_USEC=%d", &usec); err != nil || usec <= 0 {
		t.Fatalf("MONOTONIC_USEC in %q is not a positive number (%v)", lines[1], err)
	}
}

func TestReadyMainPIDNamesThisProcess(t *testing.T) {
	want := fmt.Sprintf("READY=1\nMAINPID=%d", os.Getpid())
	if got := ReadyMainPID(); got != want {
		t.Fatalf("ReadyMainPID() = %q, want %q", got, want)
	}
}

func TestNotifyWithoutSocketDoesNothing(t *testing.T) {
	t.Setenv(Env, "")
	os.Unsetenv(Env)
	if err := Notify(Ready); err != nil {
		t.Fatalf("Notify without %s = %v, want nil", Env, err)
	}
}

func TestNotifyReportsBadSocket(t *testing.T) {
	for name, socket := range map[string]string{
		"relative": "notify.sock",
		"missing":  filepath.Join(t.TempDir(), "absent.sock"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(Env, socket)
			err := Notify(Ready)
			if err == nil || !strings.Contains(err.Error(), socket) {
				t.Fatalf("Notify with %s=%q = %v, want an error naming the socket", Env, socket, err)
			}
		})
	}
}
