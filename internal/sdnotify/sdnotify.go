// Package sdnotify owns the daemon's side of systemd's readiness protocol
// (sd_notify(3)): it sends state lines such as READY=1 to the datagram
// socket systemd names in $NOTIFY_SOCKET, so that a Type=notify unit knows
// when the IPVS table is installed, when a reload runs and when the daemon
// stops. Without $NOTIFY_SOCKET every call does nothing.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// The states the daemon reports. Send them alone or joined by newlines in
// one Notify call.
const (
	Ready     = "READY=1"
	Reloading = "RELOADING=1"
	Stopping  = "STOPPING=1"
)

// Env is the variable through which systemd passes the socket path.
const Env = "NOTIFY_SOCKET"

// Notify sends state (one or more "KEY=VALUE" lines) to the socket named by
// $NOTIFY_SOCKET. A name beginning with "@" is an abstract socket. It
// returns nil without sending anything when $NOTIFY_SOCKET is unset, so the
// daemon may call it whether or not systemd started it.
func Notify(state string) error {
	return NotifySocket(os.Getenv(Env), state)
}

// NotifySocket is Notify with the socket given instead of read from the
// environment; "" means no socket.
func NotifySocket(socket, state string) error {
	if socket == "" {
		return nil
	}
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return fmt.Errorf("sd_notify %q: %s=%q is neither an absolute path nor an abstract socket (@name)", state, Env, socket)
	}
	// The net package turns a leading "@" into the NUL byte that marks an
	// abstract socket name.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %q: connect to %s=%s: %w", state, Env, socket, err)
	}
	defer conn.Close()
	// systemd reads the socket at once; a deadline keeps a stuck reader
	// from stalling the daemon.
	if err := conn.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return fmt.Errorf("sd_notify %q: set deadline on %s: %w", state, socket, err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %q: send to %s: %w", state, socket, err)
	}
	return nil
}

// ReadyMainPID is READY=1 with MAINPID= naming the calling process, the
// state a daemon that detached from the process systemd started must send,
// so that systemd follows the daemon and not its exited parent.
func ReadyMainPID() string {
	return fmt.Sprintf("%s\nMAINPID=%d", Ready, os.Getpid())
}

// ReloadingNow is the state line for the start of a reload. It carries
// MONOTONIC_USEC, which systemd 253 and later require for Type=notify-reload
// and older versions ignore.
func ReloadingNow() string {
	return fmt.Sprintf("%s\nMONOTONIC_USEC=%d", Reloading, monotonicUsec())
}
