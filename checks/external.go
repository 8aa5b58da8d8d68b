package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// checkExternal runs checkcommand with the four arguments of ldirectord(8):
// virtual address (or firewall mark), virtual port, real address, real
// port, IPv6 addresses in brackets. It runs without a shell in its own
// process group, and the whole group is killed when the timeout runs out,
// so a script's children cannot outlive the check. Exit status 0 is up.
func checkExternal(ctx context.Context, t Target) Result {
	return runCommand(ctx, t, t.Check.Command, externalArgs(t)...)
}

// checkExternalPerl is checktype = external-perl. ldirectord evaluates the
// script inside its own Perl interpreter; here it is run by perl in a
// process of its own, with the same arguments and exit-status contract as
// external, which ldirectord(8) says such a script must also honour.
func checkExternalPerl(ctx context.Context, t Target) Result {
	return runCommand(ctx, t, "perl", append([]string{t.Check.Command}, externalArgs(t)...)...)
}

func externalArgs(t Target) []string {
	virtual := perlAddr(t.VirtualAddr)
	if t.FWMark != 0 || !t.VirtualAddr.IsValid() {
		virtual = strconv.FormatUint(uint64(t.FWMark), 10)
	}
	return []string{
		virtual, strconv.Itoa(int(t.VirtualPort)),
		perlAddr(t.Addr), strconv.Itoa(int(t.Port)),
	}
}

func runCommand(ctx context.Context, t Target, name string, args ...string) Result {
	if t.Check.Command == "" {
		return down("no checkcommand configured")
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The negative pid is the process group: the command and every
		// child it started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// A grandchild that escaped the group may hold the output pipe open;
	// do not wait for it past the kill.
	cmd.WaitDelay = 100 * time.Millisecond
	var out capped
	out.max = 256
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if cmd.Process == nil && errors.Is(err, syscall.EAGAIN) {
		// fork could not make a process: the director's shortage.
		noteFault(ctx, err)
	}
	noteShortage(ctx, err)
	if errors.Is(ctx.Err(), context.Canceled) {
		return down(fmt.Sprintf("check canceled waiting for %s; process group killed", t.Check.Command))
	}
	if ctx.Err() != nil {
		return down(fmt.Sprintf("timeout after %s waiting for %s; process group killed", t.Timeout, t.Check.Command))
	}
	if err == nil {
		return up(t.Check.Command + " exited 0")
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.Exited() {
		reason := fmt.Sprintf("%s exited %d", t.Check.Command, exit.ExitCode())
		if out.Len() > 0 {
			reason += ": " + quote(out.Bytes())
		}
		return down(reason)
	}
	return down(fmt.Sprintf("%s: %v", t.Check.Command, err))
}

// capped keeps the first max bytes written to it and drops the rest, so a
// chatty command cannot fill memory.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
