package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Peer is a program measured by the harness.
type Peer string

// The peers.
const (
	// Ours is bin/ldirectord on a file table (LDIRECTORD_TABLE=file:).
	Ours Peer = "ours"
	// Perl is Debian's Perl ldirectord with fork = no, and PerlFork with
	// fork = yes; each runs cmd/fakeipvsadm as its ipvsadm.
	Perl     Peer = "perl"
	PerlFork Peer = "perl-fork"
	// Floor is cmd/ldfloor: the checks and nothing else.
	Floor Peer = "floor"
)

// PerlProgram is Debian's Perl ldirectord.
const PerlProgram = "/usr/sbin/ldirectord"

// ipvsadmPath is where the Perl ldirectord looks for ipvsadm when it is not
// in debug mode (/sbin is a link to it on Debian).
const ipvsadmPath = "/usr/sbin/ipvsadm"

// Programs are the built executables the harness runs.
type Programs struct {
	Ours        string // empty: ours is not measured
	Floor       string
	FakeIPVSADM string
}

// Build compiles cmd/ldfloor, cmd/fakeipvsadm and, when ours is set,
// cmd/ldirectord into dir.
func Build(dir string, ours bool) (Programs, error) {
	p := Programs{Floor: filepath.Join(dir, "ldfloor"), FakeIPVSADM: filepath.Join(dir, "fakeipvsadm")}
	pkgs := map[string]string{p.Floor: "cmd/ldfloor", p.FakeIPVSADM: "cmd/fakeipvsadm"}
	if ours {
		p.Ours = filepath.Join(dir, "ldirectord")
		pkgs[p.Ours] = "cmd/ldirectord"
	}
	for out, pkg := range pkgs {
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, "github.com/ldirectord-go/ldirectord/"+pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return Programs{}, fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return p, nil
}

// RequirePerl says what to install when the Perl peer cannot run.
func RequirePerl() error {
	if _, err := os.Stat(PerlProgram); err != nil {
		return fmt.Errorf("the Perl ldirectord %s is missing: apt-get install ldirectord (%w)", PerlProgram, err)
	}
	for _, m := range []string{"LWP::UserAgent=libwww-perl", "Mail::Send=libmailtools-perl"} {
		mod, pkg, _ := strings.Cut(m, "=")
		if out, err := exec.Command("perl", "-M"+mod, "-e", "1").CombinedOutput(); err != nil {
			return fmt.Errorf("Perl module %s is missing: apt-get install %s (%v: %s)", mod, pkg, err, out)
		}
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return fmt.Errorf("unshare is missing: apt-get install util-linux (%w)", err)
	}
	return nil
}

// Daemon is one running peer.
type Daemon struct {
	Peer Peer
	// Dir holds Config, Table (the IPVS table file, alone in its
	// directory "table" with its lock and temporary files), Log (the daemon's
	// log), Output (its stdout and stderr) and, for Perl, IPVSADMLog.
	Dir, Config, Table, Log, Output, IPVSADMLog string
	// Started is when the program was started.
	Started time.Time

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartDaemon writes cfg and starts peer on it in dir (which must exist):
// ours as `ldirectord CONFIG start` on a file table; Perl the same way, in
// a mount namespace of its own where cmd/fakeipvsadm is bind-mounted over
// ipvsadm, so that it runs as in production and not in its debug mode;
// the floor on the same reals. Each is the leader of its process group.
func StartDaemon(peer Peer, progs Programs, dir string, cfg Config) (*Daemon, error) {
	d := &Daemon{
		Peer: peer, Dir: dir,
		// Perl keys its pid file on the configuration's name.
		Config:     filepath.Join(dir, fmt.Sprintf("ldbench-%s-%d.cf", peer, time.Now().UnixNano())),
		Table:      filepath.Join(dir, "table", "ipvs.json"),
		Log:        filepath.Join(dir, "ldirectord.log"),
		Output:     filepath.Join(dir, "output"),
		IPVSADMLog: filepath.Join(dir, "ipvsadm.log"),
		done:       make(chan struct{}),
	}
	cfg.LogFile = d.Log
	cfg.Fork = peer == PerlFork
	if err := os.MkdirAll(filepath.Dir(d.Table), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.Config, []byte(cfg.Text()), 0o644); err != nil {
		return nil, fmt.Errorf("%s: write the configuration: %w", peer, err)
	}
	env := cleanEnv()
	var cmd *exec.Cmd
	switch peer {
	case Ours:
		if progs.Ours == "" {
			return nil, errors.New("ours: no ldirectord built (cmd/ldirectord)")
		}
		piddir := filepath.Join(dir, "run")
		if err := os.MkdirAll(piddir, 0o755); err != nil {
			return nil, err
		}
		cmd = exec.Command(progs.Ours, d.Config, "start")
		env = append(env, "LDIRECTORD_TABLE=file:"+d.Table, "LDIRECTORD_PIDDIR="+piddir)
	case Perl, PerlFork:
		if err := RequirePerl(); err != nil {
			return nil, err
		}
		cmd = exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$0" `+ipvsadmPath+` && exec `+PerlProgram+` "$1" start`,
			progs.FakeIPVSADM, d.Config)
		env = append(env, "FAKEIPVSADM_STATE="+d.Table, "FAKEIPVSADM_LOG="+d.IPVSADMLog)
	case Floor:
		targets := filepath.Join(dir, "targets")
		var b strings.Builder
		for _, r := range cfg.Reals {
			fmt.Fprintln(&b, r.Addr)
		}
		if err := os.WriteFile(targets, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		mode := "http"
		if cfg.CheckType == "connect" {
			mode = "connect"
		}
		cmd = exec.Command(progs.Floor, "-targets", targets, "-mode", mode,
			"-interval", cfg.Interval.String(), "-timeout", cfg.Timeout.String())
	default:
		return nil, fmt.Errorf("unknown peer %q", peer)
	}
	out, err := os.Create(d.Output)
	if err != nil {
		return nil, err
	}
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.Started = time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("%s: start %s: %w", peer, cmd.Path, err)
	}
	d.cmd = cmd
	go func() {
		d.err = cmd.Wait()
		out.Close()
		close(d.done)
	}()
	return d, nil
}

// cleanEnv is the harness's environment without proxies, which would send
// the Perl daemon's HTTP checks elsewhere.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		name, _, _ := strings.Cut(e, "=")
		if strings.HasSuffix(strings.ToLower(name), "_proxy") {
			continue
		}
		env = append(env, e)
	}
	return env
}

// Pid is the daemon's process id, the root of its process tree.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Exited reports whether the daemon has exited, and how.
func (d *Daemon) Exited() (bool, error) {
	select {
	case <-d.done:
		return true, d.err
	default:
		return false, nil
	}
}

// Reload sends SIGHUP, on which both daemons read their configuration
// again.
func (d *Daemon) Reload() error {
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("%s: reload: %w", d.Peer, err)
	}
	return nil
}

// Stop sends one SIGTERM (Perl dies without cleaning up on a second) and
// waits up to grace for the exit; then it kills the process group.
func (d *Daemon) Stop(grace time.Duration) error {
	pid := d.Pid()
	select {
	case <-d.done:
		return nil
	default:
	}
	syscall.Kill(pid, syscall.SIGTERM)
	var err error
	select {
	case <-d.done:
	case <-time.After(grace):
		err = fmt.Errorf("%s: pid %d still running %v after SIGTERM; killed", d.Peer, pid, grace)
	}
	syscall.Kill(-pid, syscall.SIGKILL) // what is left of its group
	<-d.done
	return err
}

// OutputTail is the end of what the daemon printed and logged, for error
// messages.
func (d *Daemon) OutputTail(lines int) string {
	var parts []string
	for _, f := range []string{d.Output, d.Log} {
		data, _ := os.ReadFile(f)
		ls := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(ls) > lines {
			ls = ls[len(ls)-lines:]
		}
		parts = append(parts, filepath.Base(f)+":\n"+strings.Join(ls, "\n"))
	}
	return strings.Join(parts, "\n")
}
