package main

// status --json, drain and undrain: the commands that ask the running
// daemon what it knows through its control socket, and drain real servers
// through the files of the drain directory (plan.DrainDir), which the
// daemon reads every second and keeps across reloads and restarts.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

// statusDoc is what status --json prints.
type statusDoc struct {
	Config  string `json:"config"`
	Running bool   `json:"running"`
	Pid     int    `json:"pid,omitempty"`
	*plan.Inspection
	Error string `json:"error,omitempty"`
}

// statusJSON prints the daemon's inspection as JSON on standard output,
// with status's LSB exit codes.
func (c control) statusJSON(pid int, alive, exists bool) int {
	doc := statusDoc{Config: c.path, Running: alive}
	code := exitOK
	switch {
	case alive:
		doc.Pid = pid
		ins, err := askInspect(socketPath(c.pidFile))
		doc.Inspection = ins
		if err != nil {
			doc.Error = err.Error()
			fmt.Fprintf(c.stderr, "ldirectord: status: %v\n", err)
		}
	case exists:
		doc.Error, code = "stale pid file "+c.pidFile, exitFailure
	default:
		code = exitNotRunning
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return exitFailure
	}
	return code
}

// drainPoll is how often drain looks whether its reals have left.
const drainPoll = 500 * time.Millisecond

// drain writes the drain file of the real named on the command line, then,
// with the daemon running, waits until every real it names has left and
// says how.
func (c control) drain(alive bool) int {
	cfg, reals, file, err := c.drainTarget()
	if err != nil {
		fmt.Fprintf(c.stderr, "ldirectord: drain: %v\n", err)
		return exitFailure
	}
	content := ""
	if c.inv.within > 0 {
		// To the nanosecond: --deadline 3 must not become 2.1 s.
		content = time.Now().Add(c.inv.within).Format(time.RFC3339Nano) + "\n"
	}
	if err := writeDrainFile(file, content); err != nil {
		fmt.Fprintf(c.stderr, "ldirectord: drain: %v\n", err)
		return exitFailure
	}
	if !alive {
		fmt.Fprintf(c.stdout, "drain of %s recorded in %s; ldirectord is stopped for %s and drains it when it starts\n", c.inv.real, file, c.path)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "draining %s: weight 0 until its active connections end", c.inv.real)
	if c.inv.within > 0 {
		fmt.Fprintf(c.stdout, " or %v passes", c.inv.within)
	}
	fmt.Fprintln(c.stdout)
	for {
		ins, err := askInspect(socketPath(c.pidFile))
		if err != nil {
			fmt.Fprintf(c.stderr, "ldirectord: drain: the drain goes on, but %v\n", err)
			return exitFailure
		}
		if lines, done := drainOutcome(ins, cfg, reals); done {
			for _, l := range lines {
				fmt.Fprintln(c.stdout, l)
			}
			return exitOK
		}
		time.Sleep(drainPoll)
	}
}

// undrain removes the drain file of the real named on the command line.
func (c control) undrain(alive bool) int {
	_, _, file, err := c.drainTarget()
	if err != nil {
		fmt.Fprintf(c.stderr, "ldirectord: undrain: %v\n", err)
		return exitFailure
	}
	if err := os.Remove(file); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(c.stderr, "ldirectord: undrain: %s is not drained (no %s)\n", c.inv.real, file)
		} else {
			fmt.Fprintf(c.stderr, "ldirectord: undrain: %v\n", err)
		}
		return exitFailure
	}
	if alive {
		fmt.Fprintf(c.stdout, "undrained %s: it is back in the table within a second, as its checks say\n", c.inv.real)
	} else {
		fmt.Fprintf(c.stdout, "undrained %s\n", c.inv.real)
	}
	return exitOK
}

// drainTarget finds the configuration, the reals of it that the command's
// real names (address:port, or an address for every port of it) and the
// drain file for them. A real the configuration does not have is refused,
// so that nothing is drained by mistake.
func (c control) drainTarget() (*conf.Config, []conf.RealID, string, error) {
	cfg, err := conf.Load(c.path)
	if err != nil {
		return nil, nil, "", err
	}
	var match func(*conf.Real) bool
	name := c.inv.real
	if ap, err := netip.ParseAddrPort(name); err == nil {
		match = func(r *conf.Real) bool { return r.Addr == ap.Addr().Unmap() && r.Port == ap.Port() }
		name = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	} else if a, err := netip.ParseAddr(name); err == nil {
		match = func(r *conf.Real) bool { return r.Addr == a.Unmap() }
		name = a.Unmap().String()
	} else {
		return nil, nil, "", fmt.Errorf("%q is not a real server: want address:port or an address", name)
	}
	var reals []conf.RealID
	for _, v := range cfg.Virtuals {
		for _, r := range v.Reals {
			if match(r) {
				reals = append(reals, r.ID)
			}
		}
	}
	if len(reals) == 0 {
		return nil, nil, "", fmt.Errorf("%s is not a real server of %s", c.inv.real, c.path)
	}
	dir := plan.DrainDir(cfg, filepath.Dir(c.pidFile))
	return cfg, reals, filepath.Join(dir, name+plan.DrainSuffix), nil
}

// writeDrainFile writes file whole, making its directory (root's own)
// when it is missing.
func writeDrainFile(file, content string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return permissionHint(err)
	}
	tmp := file + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return permissionHint(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func permissionHint(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: draining needs root", err)
	}
	return err
}

// drainOutcome says, once every real in reals of cfg has left (or stays
// at weight 0, quiescent), how each did.
func drainOutcome(ins *plan.Inspection, cfg *conf.Config, reals []conf.RealID) ([]string, bool) {
	want := map[conf.RealID]bool{}
	for _, r := range reals {
		want[r] = true
	}
	var lines []string
	for _, in := range ins.Instances {
		if in.File != cfg.File {
			continue
		}
		for _, v := range in.Virtuals {
			for _, r := range v.Reals {
				if !want[r.Real] {
					continue
				}
				if r.Drain == nil || !r.Drain.Out {
					return nil, false
				}
				lines = append(lines, fmt.Sprintf("drained %s from %s after %s: %s",
					r.Real, v.ID, r.Drain.At.Sub(r.Drain.Since).Round(time.Second), r.Drain.Why))
			}
		}
	}
	return lines, len(lines) > 0
}
