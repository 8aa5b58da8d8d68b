package vmbench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the report: one row per peer and size, and beside each
// peer its ratio to ours at the same size (peer / ours) for detection p99,
// CPU per 1,000 checks and peak RSS. CPU % is of one (virtual) CPU at
// steady state; CPU per 1,000 checks counts the checks the configuration
// schedules (N per interval), not those a peer that falls behind performs.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tpeer\tstart-up s\tkilled\tdetect p50 ms\tp99 ms\tmax ms\tCPU %\tCPU s/1000 checks\tpeak RSS MB\tp99 ×ours\tCPU ×ours\tRSS ×ours\t")
	for _, f := range r.Results {
		start := fmt.Sprintf("%.2f", f.StartupSec)
		if !f.Complete {
			start = fmt.Sprintf(">%.0f (%d/%d)", f.StartupSec, f.Present, f.N)
		}
		killed := fmt.Sprintf("%d", f.Killed)
		if f.Detected != f.Killed {
			killed = fmt.Sprintf("%d/%d out", f.Detected, f.Killed)
		}
		ratio := func(get func(Figures) float64) string {
			o, ok := r.Find(Ours, f.N)
			if !ok || f.Peer == Ours || get(o) == 0 || get(f) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", get(f)/get(o))
		}
		cpuPct := 0.0
		if f.SteadySec > 0 {
			cpuPct = 100 * f.SteadyCPUSec / f.SteadySec
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.3f\t%.1f\t%s\t%s\t%s\t\n",
			f.N, f.Peer, start, killed, f.DetectP50Ms, f.DetectP99Ms, f.DetectMaxMs, cpuPct, f.CPUPer1000, f.PeakRSSMB,
			ratio(func(f Figures) float64 { return f.DetectP99Ms }),
			ratio(func(f Figures) float64 { return f.CPUPer1000 }),
			ratio(func(f Figures) float64 { return f.PeakRSSMB }))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Results {
		if f.Error != "" {
			fmt.Fprintf(w, "%s at N=%d: %s\n", f.Peer, f.N, f.Error)
		}
	}
	return nil
}
