package vmbench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the report: one row per peer and size, and beside each
// peer its ratio to ours at the same size (peer / ours) for detection p99
// (refused and black-holed),
// CPU per 1,000 checks and peak RSS. CPU % is of one (virtual) CPU at
// steady state; CPU per 1,000 checks counts the checks the configuration
// schedules (N per interval), CPU per 1,000 made those the reals served
// over the window, fewer for a peer that falls behind.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tpeer\tstart-up s\tfailed\trefused p50/p99 ms\tblack hole p50/p99 ms\tCPU %\tCPU s/1000 checks\tchecks made/s\tCPU s/1000 made\tpeak RSS MB\trefused p99 ×ours\tblack hole p99 ×ours\tCPU ×ours\tRSS ×ours\t")
	for _, f := range r.Results {
		start := fmt.Sprintf("%.2f", f.StartupSec)
		if !f.Complete {
			start = fmt.Sprintf(">%.0f (%d/%d)", f.StartupSec, f.Present, f.N)
		}
		det := func(d Detection) string {
			out := fmt.Sprintf("%.0f/%.0f", d.P50Ms, d.P99Ms)
			if d.Detected != d.Failed {
				out += fmt.Sprintf(" (%d/%d out)", d.Detected, d.Failed)
			}
			return out
		}
		ratio := func(get func(Figures) float64) string {
			o, ok := r.Find(Ours, f.N)
			if !ok || f.Peer == Ours || get(o) == 0 || get(f) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", get(f)/get(o))
		}
		cpuPct, madePerSec := 0.0, 0.0
		if f.SteadySec > 0 {
			cpuPct = 100 * f.SteadyCPUSec / f.SteadySec
			madePerSec = float64(f.ChecksMade) / f.SteadySec
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%.0f\t%.3f\t%.0f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\t\n",
			f.N, f.Peer, start, f.Refused.Failed, det(f.Refused), det(f.BlackHole), cpuPct, f.CPUPer1000, madePerSec, f.CPUPerMade, f.PeakRSSMB,
			ratio(func(f Figures) float64 { return f.Refused.P99Ms }),
			ratio(func(f Figures) float64 { return f.BlackHole.P99Ms }),
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
