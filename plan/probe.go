package plan

import (
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
)

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
