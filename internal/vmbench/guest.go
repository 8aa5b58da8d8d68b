package vmbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/bench"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// Guest paths of the programs measured. Ours is copied in by Run; the
// others are the host's, seen through vm.Options.HostRoot. Ours thus runs
// from the initramfs's tmpfs and the others from the host's disk through
// 9p, yet peak RSS is the same either way: the kernel's fault-around maps
// the cached pages around every page touched from both. Ours, run from a
// build directory on the share (2026-12-03, two runs each way), peaked at
// 23.4 and 23.4 MB at 10 reals (23.3 and 24.2 from tmpfs) and at 26.6 and
// 25.9 MB at 100 (26.8 and 26.7), about 14.5 MB of it the binary's pages
// (RssFile from 9p, RssShmem from tmpfs). So the simpler copy stays.
const (
	OursBinary       = "/bin/ldirectord"
	KeepalivedBinary = "/usr/sbin/keepalived"
	PerlBinary       = "/usr/sbin/ldirectord"
	ipvsadmBinary    = "/usr/sbin/ipvsadm"
)

// workDir holds the configurations and the daemons' logs in the guest.
const workDir = "/tmp/vmbench"

// Guest runs the benchmark; it must run as root in the VM (real IPVS,
// the host's programs). Progress goes to log.
func Guest(ctx context.Context, p Params, log io.Writer) (*Report, error) {
	rep := &Report{Params: p, Started: time.Now().UTC()}
	if u, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		rep.Kernel = strings.TrimSpace(string(u))
	}
	// A listener per real, a connection per check: far above the default
	// 1,024 descriptors at 10,000 reals. The daemons inherit the limit.
	lim := syscall.Rlimit{Cur: 1 << 20, Max: 1 << 20}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("raising the file limit: %w", err)
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	if out, err := exec.Command("/usr/sbin/ip", "route", "replace", "local", realsPrefix, "dev", "lo").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("routing %s to lo for the real servers: %w: %s", realsPrefix, err, out)
	}
	tab, err := kernel.NewNetlink()
	if err != nil {
		return nil, fmt.Errorf("opening the kernel's IPVS table: %w", err)
	}
	for _, n := range p.Sizes {
		for _, peer := range p.Peers {
			if m, ok := p.MaxN[peer]; ok && n > m {
				continue
			}
			fmt.Fprintf(log, "vmbench: %s with %d reals\n", peer, n)
			f := measure(ctx, tab, p, peer, n)
			if f.Error != "" {
				fmt.Fprintf(log, "vmbench: %s with %d reals: %s\n", peer, n, f.Error)
			}
			if f.StraceError != "" {
				fmt.Fprintf(log, "vmbench: %s with %d reals: strace: %s\n", peer, n, f.StraceError)
			} else if p.Strace {
				fmt.Fprintf(log, "vmbench: %s with %d reals: strace over %.1fs, %d checks made\n", peer, n, f.StraceSec, f.StraceChecksMade)
			}
			fmt.Fprintf(log, "vmbench: %s with %d reals: start-up %.2fs (%d/%d), refused %d/%d out p50 %.0fms max %.0fms, black-holed %d/%d out p50 %.0fms max %.0fms, CPU %.2fs per 1000 checks, %d checks made (%.2fs per 1000, %.0f %% in the kernel, %d page faults), peak RSS %.1f MB\n",
				peer, n, f.StartupSec, f.Present, n, f.Refused.Detected, f.Refused.Failed, f.Refused.P50Ms, f.Refused.MaxMs,
				f.BlackHole.Detected, f.BlackHole.Failed, f.BlackHole.P50Ms, f.BlackHole.MaxMs, f.CPUPer1000, f.ChecksMade, f.CPUPerMade, 100*f.SteadySysSec/max(f.SteadyCPUSec, 1e-9), f.SteadyFaults, f.PeakRSSMB)
			rep.Results = append(rep.Results, f)
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// peerCommand writes the peer's configuration and returns its command.
func peerCommand(p Params, peer string, n int) (*exec.Cmd, error) {
	cfg := filepath.Join(workDir, peer+".cf")
	var text string
	var cmd *exec.Cmd
	base, env := splitPeer(peer)
	switch base {
	case Ours:
		text = ldirectordConfig(p, n, filepath.Join(workDir, peer+".log"))
		cmd = exec.Command(OursBinary, cfg, "start")
	case Perl:
		text = ldirectordConfig(p, n, filepath.Join(workDir, peer+".log"))
		cmd = exec.Command(PerlBinary, cfg, "start")
	case Keepalived:
		cfg = filepath.Join(workDir, "keepalived.conf")
		text = keepalivedConfig(p, n)
		// The checker alone (no VRRP), in the foreground, logging to
		// its console rather than to a syslog the guest lacks.
		cmd = exec.Command(KeepalivedBinary, "--dont-fork", "--check", "--log-console",
			"-f", cfg, "-p", filepath.Join(workDir, "keepalived.pid"), "-c", filepath.Join(workDir, "checkers.pid"))
	default:
		return nil, fmt.Errorf("unknown peer %q; want %s, %s or %s", peer, Ours, Keepalived, Perl)
	}
	if _, err := os.Stat(cmd.Path); err != nil {
		return nil, fmt.Errorf("peer %s: %w", peer, err)
	}
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return cmd, nil
}

// splitPeer reads a peer named with environment variables for it,
// "ours+GOMAXPROCS=2+GOGC=50": the peer "ours" run with them. Variants of
// one peer measured in the same run compare a runtime setting on the same
// footing, which runs of their own, minutes apart on a shared host, do not.
func splitPeer(peer string) (base string, env []string) {
	parts := strings.Split(peer, "+")
	return parts[0], parts[1:]
}

// measure runs one peer at one size: start-up, steady state, then k reals
// fail at once.
func measure(ctx context.Context, tab kernel.Table, p Params, peer string, n int) (f Figures) {
	f = Figures{Peer: peer, N: n}
	logPath := filepath.Join(workDir, peer+".out")
	started := false
	fail := func(format string, a ...any) Figures {
		f.Error = fmt.Sprintf(format, a...)
		if started {
			f.Error += fmt.Sprintf("; the end of its output:\n%s", tailFile(logPath, 2048))
			// Under supervised = yes ours logs to stdout, Perl to its file.
			if lf := filepath.Join(workDir, peer+".log"); fileExists(lf) {
				f.Error += fmt.Sprintf("\nthe end of its log file:\n%s", tailFile(lf, 2048))
			}
		}
		return f
	}
	if out, err := exec.Command(ipvsadmBinary, "-C").CombinedOutput(); err != nil {
		return fail("flushing the table with ipvsadm -C: %v: %s", err, out)
	}
	reals, err := startFarm(n)
	if err != nil {
		return fail("%v", err)
	}
	defer reals.close()
	cmd, err := peerCommand(p, peer, n)
	if err != nil {
		return fail("%v", err)
	}
	out, err := os.Create(logPath)
	if err != nil {
		return fail("%v", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	base, _ := splitPeer(peer)
	profile := p.Profile && base == Ours
	if profile {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, pprofEnv+"="+pprofAddr)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = realAddr(i).String()
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fail("starting %s: %v", cmd.Path, err)
	}
	started = true
	exited := make(chan struct{}) // closed once the daemon has exited
	go func() { cmd.Wait(); close(exited) }()
	pid := cmd.Process.Pid
	defer func() {
		stop(pid, exited)
		f.OutputTail = tailFile(logPath, 1024)
	}()
	died := func() string { return peer + " exited early" }

	// Start-up: until every real is in the table with a weight.
	for {
		live, err := liveReals(tab)
		if err != nil {
			return fail("listing the table: %v", err)
		}
		f.Present = count(live, want)
		if f.Present == n {
			f.Complete = true
			f.StartupSec = time.Since(start).Seconds()
			break
		}
		if time.Since(start) > p.StartLimit {
			f.StartupSec = time.Since(start).Seconds()
			if cpu, err := bench.TreeCPU(pid); err == nil {
				f.TotalCPUSec = cpu.Seconds()
			}
			if rss, err := bench.TreeHWM(pid); err == nil {
				f.PeakRSSMB = float64(rss) / (1 << 20)
			}
			return fail("the table held %d of %d reals after %s; the daemon used %.1fs of CPU meanwhile", f.Present, n, p.StartLimit, f.TotalCPUSec)
		}
		select {
		case <-exited:
			return fail("%s", died())
		case <-ctx.Done():
			return fail("%v", ctx.Err())
		case <-time.After(5 * p.Poll):
		}
	}

	// Steady state: the CPU of a window with every real healthy.
	cpu0, sys0, faults0, err := bench.TreeCPUSys(pid)
	if err != nil {
		return fail("%v", err)
	}
	made0 := reals.checks.Load()
	t0 := time.Now()
	var cpuProfile <-chan profileResult
	if profile {
		// Sent after the window opened and as long as it, the profile
		// ends just after the window closes: the daemon writes it
		// outside the CPU measured.
		cpuProfile = startCPUProfile(ctx, profileSeconds(p.Steady))
	}
	select {
	case <-exited:
		return fail("%s", died())
	case <-ctx.Done():
		return fail("%v", ctx.Err())
	case <-time.After(p.Steady):
	}
	cpu1, sys1, faults1, err := bench.TreeCPUSys(pid)
	if err != nil {
		return fail("%v", err)
	}
	f.ChecksMade = reals.checks.Load() - made0
	f.SteadySec = time.Since(t0).Seconds()
	f.SteadyCPUSec = (cpu1 - cpu0).Seconds()
	f.SteadySysSec = (sys1 - sys0).Seconds()
	f.SteadyFaults = faults1 - faults0
	checks := float64(n) * f.SteadySec / p.Interval.Seconds()
	f.CPUPer1000 = f.SteadyCPUSec / checks * 1000
	if f.ChecksMade > 0 {
		f.CPUPerMade = f.SteadyCPUSec / float64(f.ChecksMade) * 1000
	}
	rss, _ := bench.TreeHWM(pid)
	if profile {
		f.CPUProfile, f.HeapProfile, f.AllocsProfile, f.ProfileError = collectProfiles(ctx, cpuProfile, exited)
	}

	// Detection: k reals refuse connections, then k others go silent.
	// While a kind has fewer than p.MinSamples latencies its round is
	// repeated with other victims, the failed reals back in the table
	// first: one failed real at 10 reals is one sample otherwise.
	k := max(1, n*p.KillPercent/100)
	var down []failedReals
	restore := func() error {
		var back []string
		for _, d := range down {
			if err := d.restore(d.reals); err != nil {
				return err
			}
			for _, i := range d.reals {
				back = append(back, realAddr(i).String())
			}
		}
		down = nil
		return waitBack(ctx, tab, p, back, exited)
	}
	kinds := []struct {
		what    string
		d       *Detection
		shifted bool
		inject  func([]int)
		restore func([]int) error
	}{
		{"refusing", &f.Refused, false, reals.kill, reals.revive},
		{"black-holed", &f.BlackHole, true, reals.blackHole, reals.unsilence},
	}
	for _, kd := range kinds {
		for round := 0; err == nil && (round == 0 || len(kd.d.LatencyMs) < p.MinSamples); round++ {
			dead := victims(n, k, kd.shifted, round)
			// The first round of a kind leaves the previous kind's reals
			// failed, as when MinSamples asks for no repeat, unless it
			// would fail them twice.
			if round > 0 || overlaps(down, dead) {
				if err = restore(); err != nil {
					break
				}
			}
			down = append(down, failedReals{dead, kd.restore})
			kd.d.Failed += len(dead)
			kd.d.Rounds++
			var left int
			if left, err = detect(ctx, tab, p, kd.d, dead, kd.inject, exited); err == nil && left > 0 {
				err = fmt.Errorf("%d of %d %s reals were still in the table after %s (round %d)", left, len(dead), kd.what, p.DetectLimit, round+1)
			}
		}
		if err != nil {
			break
		}
	}
	if cpu, err := bench.TreeCPU(pid); err == nil {
		f.TotalCPUSec = cpu.Seconds()
	}
	if r, err := bench.TreeHWM(pid); err == nil {
		rss = max(rss, r)
	}
	f.PeakRSSMB = float64(rss) / (1 << 20)
	if err != nil {
		return fail("%v", err)
	}
	if p.Strace {
		// Every real back first: the same steady state as the window
		// measured, now under ptrace.
		if err := restore(); err != nil {
			f.StraceError = fmt.Sprintf("restoring the failed reals before strace: %v", err)
		} else if f.StraceSummary, f.StraceChecksMade, f.StraceSec, err = straceWindow(ctx, p, pid, reals, exited); err != nil {
			f.StraceError = err.Error()
		}
	}
	return f
}

// detect fails the reals given with inject and reads the table every
// p.Poll until they are all out of it, or p.DetectLimit passes; it returns
// how many were left in.
func detect(ctx context.Context, tab kernel.Table, p Params, d *Detection, dead []int, inject func([]int), exited chan struct{}) (int, error) {
	pending := map[string]bool{}
	for _, i := range dead {
		pending[realAddr(i).String()] = true
	}
	t0 := time.Now()
	inject(dead)
	for len(pending) > 0 && time.Since(t0) < p.DetectLimit {
		live, err := liveReals(tab)
		if err != nil {
			return len(pending), fmt.Errorf("listing the table: %w", err)
		}
		now := time.Since(t0)
		for a := range pending {
			if !live[a] {
				delete(pending, a)
				d.LatencyMs = append(d.LatencyMs, float64(now.Microseconds())/1000)
			}
		}
		select {
		case <-exited:
			return len(pending), errors.New("the daemon exited early")
		case <-ctx.Done():
			return len(pending), ctx.Err()
		case <-time.After(p.Poll):
		}
	}
	d.Detected = len(d.LatencyMs)
	slices.Sort(d.LatencyMs)
	d.P50Ms = percentile(d.LatencyMs, 50)
	d.P99Ms = percentile(d.LatencyMs, 99)
	d.MaxMs = percentile(d.LatencyMs, 100)
	return len(pending), nil
}

// waitBack reads the table every 5 p.Poll until every real given ("addr:port")
// is in it again with a weight, for at most p.StartLimit.
func waitBack(ctx context.Context, tab kernel.Table, p Params, reals []string, exited chan struct{}) error {
	t0 := time.Now()
	for {
		live, err := liveReals(tab)
		if err != nil {
			return fmt.Errorf("listing the table: %w", err)
		}
		back := count(live, reals)
		if back == len(reals) {
			return nil
		}
		if time.Since(t0) > p.StartLimit {
			return fmt.Errorf("%d of %d reals restored were back in the table after %s", back, len(reals), p.StartLimit)
		}
		select {
		case <-exited:
			return errors.New("the daemon exited early")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * p.Poll):
		}
	}
}

// failedReals are reals failed by a round, and how they come back.
type failedReals struct {
	reals   []int
	restore func([]int) error
}

// overlaps says whether a real of reals is among those down.
func overlaps(down []failedReals, reals []int) bool {
	for _, d := range down {
		for _, i := range d.reals {
			if slices.Contains(reals, i) {
				return true
			}
		}
	}
	return false
}

// stop ends the daemon's process group: TERM, then KILL if it lingers.
func stop(pid int, exited chan struct{}) {
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	// Children that outlived the leader (keepalived's checker).
	syscall.Kill(-pid, syscall.SIGKILL)
}

// liveReals is the set of destinations ("addr:port") in the table with a
// weight above zero: a quiescent real counts as out.
func liveReals(tab kernel.Table) (map[string]bool, error) {
	vs, err := tab.List()
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, v := range vs {
		for _, d := range v.Destinations {
			if d.Weight > 0 {
				live[fmt.Sprintf("%s:%d", d.Addr, d.Port)] = true
			}
		}
	}
	return live, nil
}

func count(live map[string]bool, want []string) int {
	c := 0
	for _, w := range want {
		if live[w] {
			c++
		}
	}
	return c
}

// percentile of sorted values, nearest rank; 0 for none.
func percentile(sorted []float64, pct float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(pct/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func tailFile(path string, n int64) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if int64(len(data)) > n {
		data = data[int64(len(data))-n:]
	}
	return string(data)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
