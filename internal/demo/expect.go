package demo

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// The demo's virtual service and servers, as demo.cf and guest.sh set them.
const (
	virtualAddr = "192.0.2.80:80"
	rs1         = "10.2.1.2:80"
	rs2         = "10.2.2.2:80"
	rs3         = "10.2.3.2:80"
	sorry       = "10.2.4.2:80"
)

// Step is a table the demo must show, in order, and the answers that
// requests through the virtual service may get while it stands.
type Step struct {
	// Name is the guest's name for the step (its "reached" line).
	Name string
	// Saw is the summary's line for the step.
	Saw string
	// Reals maps each real server's address:port to its weight; nil means
	// no virtual service at all.
	Reals map[string]int
	// Answers are the bodies requests may get after this step and before
	// the next; at least one request is made when it is not empty.
	Answers []string
}

// Expected lists the demo's steps; quiescent adds the quiescent = yes pair.
func Expected(quiescent bool) []Step {
	all := map[string]int{rs1: 1, rs2: 1, rs3: 1}
	steps := []Step{
		{Name: "all-up", Saw: "ldirectord checked rs1, rs2 and rs3 over HTTP and put all three in the table",
			Reals: all, Answers: []string{"OK from rs1", "OK from rs2", "OK from rs3"}},
		{Name: "rs2-out", Saw: "rs2's web server was killed: its check failed and ldirectord took it out",
			Reals: map[string]int{rs1: 1, rs3: 1}, Answers: []string{"OK from rs1", "OK from rs3"}},
		{Name: "rs2-back", Saw: "rs2's web server came back: ldirectord put it back in", Reals: all},
	}
	if quiescent {
		steps = append(steps,
			Step{Name: "rs2-quiesced", Saw: "with quiescent = yes, rs2 killed again stayed in with weight 0",
				Reals: map[string]int{rs1: 1, rs2: 0, rs3: 1}},
			Step{Name: "rs2-unquiesced", Saw: "rs2 came back: weight 1 again", Reals: all})
	}
	return append(steps,
		Step{Name: "fallback-in", Saw: "all three were killed: ldirectord put the fallback server in",
			Reals: map[string]int{sorry: 1}, Answers: []string{"sorry, every real server is down"}},
		Step{Name: "stopped", Saw: "on SIGTERM ldirectord stopped and removed its virtual service (cleanstop)"})
}

// Check verifies that the tables in evs show the steps in order (other
// tables may come between them: the table changes one server at a time),
// that every request got an answer its step allows, and that the guest
// finished.
func Check(evs []Event, steps []Step) error {
	// at[i] is the step standing at event i, -1 before the first.
	at := make([]int, len(evs))
	next := 0
	for i, e := range evs {
		switch e.Kind {
		case "fail":
			return fmt.Errorf("demo: the guest failed: %s", e.Text)
		case "table":
			if e.TableErr != nil {
				return fmt.Errorf("demo: a table the guest printed does not parse: %w\n%s", e.TableErr, e.Text)
			}
			if next < len(steps) && matches(e.Table, steps[next]) {
				next++
			}
		}
		at[i] = next - 1
	}
	if next < len(steps) {
		return fmt.Errorf("demo: the table never showed step %s (%s) after the steps before it; expected %s\ntables seen:\n%s",
			steps[next].Name, steps[next].Saw, describe(steps[next].Reals), tablesSeen(evs))
	}
	asked := make([]bool, len(steps))
	for i, e := range evs {
		if e.Kind != "answer" {
			continue
		}
		if at[i] < 0 {
			return fmt.Errorf("demo: a request through the virtual service got %q before the first step", e.Text)
		}
		s := steps[at[i]]
		if !slices.Contains(s.Answers, e.Text) {
			return fmt.Errorf("demo: a request through the virtual service got %q, expected one of %q at step %s", e.Text, s.Answers, s.Name)
		}
		asked[at[i]] = true
	}
	for i, s := range steps {
		if len(s.Answers) > 0 && !asked[i] {
			return fmt.Errorf("demo: no request was made through the virtual service at step %s", s.Name)
		}
	}
	if len(evs) == 0 || evs[len(evs)-1].Kind != "done" {
		return fmt.Errorf("demo: the guest did not finish (no done line)")
	}
	return nil
}

// matches tells whether the table is the step's: the one virtual service
// with exactly the step's real servers and weights, all masq.
func matches(vs []kernel.Virtual, s Step) bool {
	if s.Reals == nil {
		return len(vs) == 0
	}
	if len(vs) != 1 {
		return false
	}
	svc := vs[0].Service
	if svc.Protocol != "tcp" || netip.AddrPortFrom(svc.Addr, svc.Port).String() != virtualAddr {
		return false
	}
	got := map[string]int{}
	for _, d := range vs[0].Destinations {
		if d.Method != kernel.Masq {
			return false
		}
		got[netip.AddrPortFrom(d.Addr, d.Port).String()] = d.Weight
	}
	if len(got) != len(s.Reals) {
		return false
	}
	for k, w := range s.Reals {
		if g, ok := got[k]; !ok || g != w {
			return false
		}
	}
	return true
}

func describe(reals map[string]int) string {
	if reals == nil {
		return "an empty table"
	}
	var parts []string
	for k, w := range reals {
		parts = append(parts, k+" weight "+strconv.Itoa(w))
	}
	slices.Sort(parts)
	return virtualAddr + " with " + strings.Join(parts, ", ")
}

func tablesSeen(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Kind == "table" {
			fmt.Fprintf(&b, "at %.1fs:\n%s", e.At, e.Text)
		}
	}
	return b.String()
}
