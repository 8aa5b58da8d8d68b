// Package vmbench measures, inside the real-kernel VM, the daemons that need
// the kernel's IPVS: our ldirectord on netlink, keepalived and the Perl
// ldirectord with the real ipvsadm, side by side in one run on the same
// real servers. It owns that benchmark: the host side (Run, which boots the
// VM with the host's / shared, see vm.Options.HostRoot), the guest side
// (Guest: real servers, peer configurations, the measurements) and the
// report. BENCHMARKS.md, section "Inside the VM", gives the method.
package vmbench

import (
	"time"
)

// The peers Guest knows.
const (
	Ours       = "ours"
	Keepalived = "keepalived"
	Perl       = "perl"
)

// Params say what one run measures.
type Params struct {
	// Sizes are the numbers of real servers, one round each.
	Sizes []int
	// Peers are measured in this order at every size up to their MaxN
	// (no limit when absent).
	Peers []string
	MaxN  map[string]int
	// PerVirtual reals make one virtual service.
	PerVirtual int
	// Interval and Timeout are the check interval and the connect (and
	// negotiate) timeout of every peer.
	Interval time.Duration
	Timeout  time.Duration
	// Steady is the window over which steady-state CPU is measured, once
	// the table is complete.
	Steady time.Duration
	// StartLimit and DetectLimit bound the wait for a complete table and
	// for the failed reals to leave it; a peer that misses them is
	// reported with what it managed.
	StartLimit  time.Duration
	DetectLimit time.Duration
	// Poll is how often the table is read while waiting for the failed
	// reals to leave it. While waiting for a complete table it is read
	// five times less often: the reads take CPU from the daemon.
	Poll time.Duration
	// KillPercent of the reals (at least one) fail at once.
	KillPercent int
	// MinSamples: while a kind of failure (refused, black-holed) has
	// fewer detection latencies than this, its round is repeated with
	// other victims, once the reals failed before are back in the table
	// (within StartLimit).
	MinSamples int
	// CPUs is the VM's number of virtual CPUs (1 if zero).
	CPUs int
	// Profile has ours serve net/http/pprof in the guest and takes its
	// CPU profile over the steady window, and its heap and allocs
	// profiles at the end of it, into Figures. The profiler adds a little
	// CPU to ours's steady window (SIGPROF a hundred times a second) and
	// the profiles' writing a little memory to its peak RSS.
	Profile bool
	// ProfileDir is host-side only: when Profile is set, Run copies there,
	// as ldirectord, the very binary of ours it ran, for pprof's source
	// and disassembly views.
	ProfileDir string `json:"-"`
	// Strace counts the daemon's syscalls with the host's strace
	// (StraceBinary, -c -f, every process of its tree) over a window as
	// long as Steady, once detection is over and every real is back:
	// ptrace slows every syscall, so no other figure is taken meanwhile.
	Strace bool
}

// DefaultParams are those of the recorded run: 10, 100 and 1,000 reals,
// in about five minutes under TCG. The Perl ldirectord checks one real
// after the other (fork = no) and takes over a second per real under TCG:
// it runs at 10 reals only.
func DefaultParams() Params {
	return Params{
		Sizes:       []int{10, 100, 1000},
		Peers:       []string{Ours, Keepalived, Perl},
		MaxN:        map[string]int{Perl: 10},
		PerVirtual:  100,
		Interval:    time.Second,
		Timeout:     3 * time.Second,
		Steady:      10 * time.Second,
		StartLimit:  60 * time.Second,
		DetectLimit: 30 * time.Second,
		Poll:        20 * time.Millisecond,
		KillPercent: 10,
		MinSamples:  10,
	}
}

// Figures are one peer's results at one size.
type Figures struct {
	Peer string `json:"peer"`
	N    int    `json:"n"`
	// Startup is from the daemon's start to a table holding every real;
	// Complete is false when StartLimit passed first (then Present says
	// how many were there).
	StartupSec float64 `json:"startup_sec"`
	Complete   bool    `json:"complete"`
	Present    int     `json:"present"`
	// Refused: the failed reals' listeners closed (connections refused).
	// BlackHole: then as many other reals accept and never answer (checks
	// time out).
	Refused   Detection `json:"refused"`
	BlackHole Detection `json:"black_hole"`
	// SteadyCPUSec is the CPU (user and system, children included) the
	// daemon's process tree used over SteadySec at steady state;
	// CPUPer1000 is that per 1,000 scheduled checks.
	SteadyCPUSec float64 `json:"steady_cpu_sec"`
	// SteadySysSec is the part of SteadyCPUSec spent in the kernel: the
	// system calls a check needs are the same for every peer, so what
	// is left above the peer with the least is the peer's own work.
	SteadySysSec float64 `json:"steady_sys_sec"`
	// SteadyFaults are the page faults over the same window: kernel
	// time that no system call shows.
	SteadyFaults int64   `json:"steady_page_faults"`
	SteadySec    float64 `json:"steady_sec"`
	CPUPer1000   float64 `json:"cpu_sec_per_1000_checks"`
	// ChecksMade are the checks the reals served over the same window
	// (requests answered, bare connects), read at the same instants as
	// the CPU; CPUPerMade is SteadyCPUSec per 1,000 of them. Below
	// N per interval, the peer fell behind its schedule and CPUPer1000
	// flatters it.
	ChecksMade int64   `json:"checks_made"`
	CPUPerMade float64 `json:"cpu_sec_per_1000_made,omitempty"`
	// TotalCPUSec is the CPU of the whole life of the daemon up to the
	// end of detection, start-up included.
	TotalCPUSec float64 `json:"total_cpu_sec"`
	// PeakRSSMB is the sum of VmHWM over the daemon's processes.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// CPUProfile, HeapProfile and AllocsProfile are ours's pprof profiles
	// (gzipped protobuf) when Params.Profile is set: CPU over the steady
	// window, heap and allocations at its end. ProfileError says why one
	// is missing.
	CPUProfile    []byte `json:"cpu_profile,omitempty"`
	HeapProfile   []byte `json:"heap_profile,omitempty"`
	AllocsProfile []byte `json:"allocs_profile,omitempty"`
	ProfileError  string `json:"profile_error,omitempty"`
	// StraceSummary is strace -c's summary of the daemon's syscalls over
	// the window of Params.Strace, StraceSec long, while the reals served
	// StraceChecksMade checks; StraceError says why it is missing.
	StraceSummary    string  `json:"strace_summary,omitempty"`
	StraceSec        float64 `json:"strace_sec,omitempty"`
	StraceChecksMade int64   `json:"strace_checks_made,omitempty"`
	StraceError      string  `json:"strace_error,omitempty"`
	// OutputTail is the end of the daemon's output (stdout and stderr).
	OutputTail string `json:"output_tail,omitempty"`
	// Error says why figures are missing, if they are.
	Error string `json:"error,omitempty"`
}

// Detection is how fast reals that failed at once left the table.
type Detection struct {
	// Failed reals failed, at once in each of Rounds rounds; Detected of
	// them left the table within DetectLimit, after the latencies listed
	// (milliseconds, sorted, every round's).
	Rounds    int       `json:"rounds"`
	Failed    int       `json:"failed"`
	Detected  int       `json:"detected"`
	LatencyMs []float64 `json:"latency_ms"`
	P50Ms     float64   `json:"p50_ms"`
	P99Ms     float64   `json:"p99_ms"`
	MaxMs     float64   `json:"max_ms"`
}

// Report is a whole run.
type Report struct {
	Params  Params    `json:"params"`
	Kernel  string    `json:"guest_kernel"`
	Started time.Time `json:"started"`
	// VMSec is the whole VM run, boot included (host side).
	VMSec   float64   `json:"vm_sec,omitempty"`
	Results []Figures `json:"results"`
}

// Find returns the figures of a peer at a size.
func (r *Report) Find(peer string, n int) (Figures, bool) {
	for _, f := range r.Results {
		if f.Peer == peer && f.N == n {
			return f, true
		}
	}
	return Figures{}, false
}
