package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/plan"
)

// probeGrace is how long probe waits past a check's deadline for a check
// that does not heed its context, before it calls it down.
const probeGrace = time.Second

// probeRow is one line of probe's table.
type probeRow struct {
	virtual, real, check string
	result               checks.Result
}

// probe runs every check of the configuration (and of those its execute
// directives name) once, all at the same time, and prints one row per real
// server: exit 0 when all are up, 1 otherwise. An operator runs it to try a
// configuration before starting it; it touches no table.
func probe(path string, stdout, stderr io.Writer) int {
	cfgs, err := loadAll(path)
	if err != nil {
		fmt.Fprintf(stderr, "ldirectord: %v\n", err)
		return exitFailure
	}
	return probeConfigs(cfgs, checks.Run, stdout)
}

func probeConfigs(cfgs []*conf.Config, check checks.Func, stdout io.Writer) int {
	var rows []*probeRow
	var wg sync.WaitGroup
	var notes []string
	for _, c := range cfgs {
		for _, v := range c.Virtuals {
			for _, r := range v.Reals {
				row := &probeRow{virtual: string(v.ID), real: realName(r)}
				rows = append(rows, row)
				wg.Add(1)
				go func() {
					defer wg.Done()
					row.check, row.result = probeOne(v, r, check)
				}()
			}
			if fb := v.Fallback(); fb != nil {
				notes = append(notes, fmt.Sprintf("%s: fallback %s is not checked; it goes in, unchecked, when no real server is up",
					v.ID, realName(fb)))
			}
		}
	}
	wg.Wait()
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "VIRTUAL\tREAL\tCHECK\tVERDICT\tLATENCY\tREASON")
	code := exitOK
	for _, row := range rows {
		verdict := "up"
		if !row.result.Up {
			verdict, code = "down", exitFailure
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.virtual, row.real, row.check, verdict,
			latency(row.result.Duration), row.result.Reason)
	}
	tw.Flush()
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no real servers to check")
	}
	for _, n := range notes {
		fmt.Fprintln(stdout, n)
	}
	return code
}

// probeOne runs the check the daemon's prober would run on r. With
// checktype = N it runs the negotiate check, which asks the most of the
// real server.
func probeOne(v *conf.Virtual, r *conf.Real, check checks.Func) (string, checks.Result) {
	round := 0
	if v.Check.Type == conf.CheckCombined {
		round = max(v.Check.ConnectsBeforeNegotiate, 1)
	}
	p := plan.NewProbe(v, r, round)
	done := make(chan checks.Result, 1)
	start := time.Now()
	go func() {
		ctx, cancel := p.Context(context.Background())
		defer cancel()
		done <- p.Run(ctx, check)
	}()
	select {
	case res := <-done:
		return checks.Describe(p.Target), res
	case <-time.After(p.Deadline + probeGrace):
		return checks.Describe(p.Target), checks.Result{Reason: fmt.Sprintf("no verdict within %v", p.Deadline), Duration: time.Since(start)}
	}
}

func realName(r *conf.Real) string {
	return netip.AddrPortFrom(r.Addr, r.Port).String()
}

func latency(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
