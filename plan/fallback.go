package plan

import (
	"net/netip"

	"github.com/ldirectord-go/ldirectord/conf"
)

// FallbackProbe is what the fallback server of v is checked as, for the
// logs and the status only (the Perl ldirectord never checks it, and its
// health never changes the table): a connect check (a ping for UDP), since
// the virtual's request and receive are for its real servers and a sorry
// server answers otherwise, and an external checkcommand is not meant for
// it. ok is false when v has no fallback or it has no port to connect to.
func FallbackProbe(v *conf.Virtual) (pv *conf.Virtual, fb *conf.Real, ok bool) {
	f := v.Fallback()
	if f == nil || (f.Port == 0 && v.Protocol != conf.UDP) {
		return nil, nil, false
	}
	c := *v
	c.Check = conf.Check{Type: conf.CheckConnect}
	c.Reals = nil
	r := *f
	r.ID = FallbackID(f)
	r.Request, r.Receive = "", ""
	return &c, &r, true
}

// FallbackID names the fallback server apart from the real servers, which
// may include the same address.
func FallbackID(f *conf.Real) conf.RealID {
	return conf.RealID("fallback " + netip.AddrPortFrom(f.Addr, f.Port).String())
}
