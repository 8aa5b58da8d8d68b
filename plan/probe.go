package plan

import (
	"context"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
)

// Probe is one check of one real server as the daemon runs it: what is
// checked, how long the check may take in all, and for checktype on and
// off the verdict that needs no check. The prober and the probe command
// both run checks through it, so that they run the same check.
type Probe struct {
	Target   checks.Target
	Deadline time.Duration
	// Kind is CheckKind of the target, made once with the probe.
	Kind string
	// Fixed is set for checktype on and off: Verdict is known and no
	// check runs.
	Fixed   bool
	Verdict checks.Result
}

// NewProbe is the check of real server r of v on check number round
// (counting from 0).
func NewProbe(v *conf.Virtual, r *conf.Real, round int) Probe {
	t := Target(v, r, round)
	p := Probe{Target: t, Deadline: Deadline(t), Kind: CheckKind(t)}
	if up, fixed := Fixed(t.Check.Type); fixed {
		p.Fixed, p.Verdict = true, checks.Result{Up: up, Reason: "checktype " + string(t.Check.Type)}
	}
	return p
}

// Context is parent bounded by the probe's deadline from now: the context
// to Run the check in, made when the check may start.
func (p Probe) Context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, p.Deadline)
}

// Run runs the check with check (checks.Run, or a test's stand-in) within
// ctx, which Context made, and stamps the result with the time the check
// took: the one place a check's duration is measured, so that time spent
// waiting to run is never counted.
func (p Probe) Run(ctx context.Context, check checks.Func) checks.Result {
	if p.Fixed {
		return p.Verdict
	}
	start := time.Now()
	res := check(ctx, p.Target)
	res.Duration = time.Since(start)
	return res
}

// Target is what the check of real server r of v looks like on check number
// round (counting from 0): checktype = N does N connect checks, then one
// negotiate check; per-real request and receive replace the virtual's.
func Target(v *conf.Virtual, r *conf.Real, round int) checks.Target {
	c := v.Check
	if r.Request != "" {
		c.Request = r.Request
	}
	if r.Receive != "" {
		c.Receive = r.Receive
	}
	if c.Type == conf.CheckCombined {
		n := c.ConnectsBeforeNegotiate
		if n < 1 {
			n = 1
		}
		if round%(n+1) == n {
			c.Type = conf.CheckNegotiate
		} else {
			c.Type = conf.CheckConnect
		}
	}
	// A real of a firewall-mark service often has no port: its check
	// goes to the service's standard port.
	port := v.CheckPort(r)
	if port == 0 {
		port = v.Port
	}
	t := checks.Target{
		Addr:        r.Addr,
		Port:        port,
		Protocol:    v.Protocol,
		VirtualAddr: v.Addr,
		VirtualPort: v.Port,
		FWMark:      v.FWMark,
		Check:       c,
		CheckCount:  v.Settings.CheckCount,
		Timeout:     v.Settings.CheckTimeout,
	}
	if c.Type == conf.CheckNegotiate || c.Type == conf.CheckExternal || c.Type == conf.CheckExternalPerl {
		t.Timeout = v.Settings.NegotiateTimeout
	}
	if t.CheckCount < 1 {
		t.CheckCount = 1
	}
	return t
}

// Deadline is how long the check of t may take in all: its timeout, times
// checkcount for a ping (and the ping that checks a UDP service's connect),
// which tries that many times.
func Deadline(t checks.Target) time.Duration {
	pings := t.Check.Type == conf.CheckPing || (t.Check.Type == conf.CheckConnect && t.Protocol == conf.UDP)
	if pings && t.CheckCount > 1 {
		return t.Timeout * time.Duration(t.CheckCount)
	}
	return t.Timeout
}

// Fixed reports the verdict of checktype = on (always up) and off (always
// down), which need no check at all.
func Fixed(c conf.CheckType) (up, fixed bool) {
	switch c {
	case conf.CheckOn:
		return true, true
	case conf.CheckOff:
		return false, true
	}
	return false, false
}

// CheckKind names the kind of check t is, in the words of the
// configuration: its check type, with the service for a negotiate check
// ("negotiate http"), and "ping" for the connect check of a UDP service,
// which pings. It has no address in it: a label with few values.
func CheckKind(t checks.Target) string {
	switch {
	case t.Check.Type == conf.CheckNegotiate:
		return "negotiate " + t.Check.Service
	case t.Check.Type == conf.CheckConnect && t.Protocol == conf.UDP:
		return string(conf.CheckPing)
	}
	return string(t.Check.Type)
}
