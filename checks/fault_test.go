package checks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// exhaustFiles leaves the process no file descriptor to open until the
// returned function gives them back: the limit is lowered to the highest
// open descriptor and the holes below it are filled.
func exhaustFiles(t *testing.T) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	highest := 0
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil {
			highest = max(highest, fd)
		}
	}
	low := old
	low.Cur = uint64(highest + 1)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var fillers []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		fillers = append(fillers, f)
	}
	return func() {
		for _, f := range fillers {
			_ = f.Close()
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDirectorShortOfFiles runs every check while the process can open no
// file: each is down and marked the director's fault, with the cause in
// its reason. The same checks against servers that are down are not.
func TestDirectorShortOfFiles(t *testing.T) {
	// Not parallel: the limit is the whole process's.
	const timeout = 300 * time.Millisecond
	tcp := serve(t, "tcp4", mute)
	udp := serveUDP(t, "udp4", func([]byte) []byte { return nil })
	targets := muteTargets(t, tcp, udp, timeout)
	targets["ping"] = target(loopback(0), conf.CheckPing, "")
	targets["ping"] = withTimeout(targets["ping"], timeout)

	results := map[string]Result{}
	restore := exhaustFiles(t)
	for name, tg := range targets {
		results[name] = runCheck(Run, tg)
	}
	restore()
	for name, r := range results {
		t.Logf("%-18s up=%v fault=%v: %s", name, r.Up, r.DirectorFault, r.Reason)
		if r.Up || !r.DirectorFault || !strings.Contains(r.Reason, "too many open files") ||
			!strings.HasPrefix(r.Reason, directorFaultPrefix) {
			t.Errorf("%s with no file to open: up=%v fault=%v %q, want down, the director's fault, too many open files",
				name, r.Up, r.DirectorFault, r.Reason)
		}
	}

	// With files to open, the same checks of servers that never answer
	// and of a port where none listens are the real's fault.
	gone := refused(t, "tcp4")
	for name, tg := range targets {
		if strings.HasPrefix(name, "ping") {
			continue
		}
		for _, r := range []Result{runCheck(Run, tg), runCheck(Run, moved(tg, gone))} {
			if r.DirectorFault {
				t.Errorf("%s: the director's fault with files to spare: %q", name, r.Reason)
			}
		}
	}
}

// TestDirectorFaultNotFromText: a server that says "too many open files"
// is down by its own fault; only the director's own errors count.
func TestDirectorFaultNotFromText(t *testing.T) {
	t.Parallel()
	say := "421 4.3.2 too many open files; no buffer space available; cannot allocate memory\r\n"
	tg := negotiate(serve(t, "tcp4", sayThenHold(say)), conf.ServiceSMTP, "", "")
	tg.Timeout = testTimeout
	r := expect(t, Run, tg, false, "too many open files")
	if r.DirectorFault {
		t.Fatalf("a server's words made the director's fault: %q", r.Reason)
	}
}

func TestDirectorShort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.EMFILE)}, true},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.ENFILE)}, true},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ENOBUFS)}, true},
		{fmt.Errorf("pipe: %w", syscall.ENOMEM), true},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false},
		{errors.New("too many open files"), false},
		{nil, false},
	} {
		if got := directorShort(tc.err); got != tc.want {
			t.Errorf("directorShort(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func withTimeout(tg Target, d time.Duration) Target { tg.Timeout = d; return tg }

// moved is tg sent to addr instead, unless it is a check that goes
// elsewhere (external).
func moved(tg Target, addr netip.AddrPort) Target {
	if tg.Check.Type == conf.CheckExternal {
		return tg
	}
	tg.Addr, tg.Port = addr.Addr(), addr.Port()
	return tg
}
