package plan

import (
	"net/netip"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// FallbackWeight is the weight the fallback server gets, as in the Perl
// ldirectord, whatever weight the configuration gives it.
const FallbackWeight = 1

// Ref names one destination of one service.
type Ref struct {
	Service kernel.Service
	Dest    kernel.Destination
}

// Desired is the table a configuration should have given the health of its
// real servers. An up real server is in at its weight. A real server that is
// down is left out, or with quiescent = yes kept at weight 0. One not yet
// checked is kept at its weight while the table holds it (Optional names
// it: a table adopted at start, before the director could check it all)
// and never put in; with quiescent = yes it is at weight 0. When no real
// server of a virtual is up, its fallback server is in at weight 1; the
// fallback is never quiescent.
func Desired(cfg *conf.Config, health Health) []kernel.Virtual {
	out := make([]kernel.Virtual, 0, len(cfg.Virtuals))
	for _, v := range cfg.Virtuals {
		out = append(out, DesiredVirtual(v, health[v.ID]))
	}
	return out
}

// DesiredVirtual is Desired for one virtual service.
func DesiredVirtual(v *conf.Virtual, statuses map[conf.RealID]Status) kernel.Virtual {
	kv := kernel.Virtual{Service: Service(v)}
	if len(v.Reals) > 0 {
		// Sized at once: the whole table is built again at every change
		// of health, and growing it made as much garbage again.
		kv.Destinations = make([]kernel.Destination, 0, len(v.Reals)+1)
	}
	for _, r := range v.Reals {
		switch statuses[r.ID] {
		case Up:
			kv.Destinations = append(kv.Destinations, Destination(v, r, r.Weight))
		case Unknown:
			w := r.Weight
			if v.Settings.Quiescent {
				w = 0
			}
			kv.Destinations = append(kv.Destinations, Destination(v, r, w))
		default:
			if v.Settings.Quiescent {
				kv.Destinations = append(kv.Destinations, Destination(v, r, 0))
			}
		}
	}
	if fb := v.Fallback(); fb != nil && !AnyUp(v, statuses) {
		d := Destination(v, fb, FallbackWeight)
		d.Upper, d.Lower = 0, 0
		kv.Destinations = appendUnique(kv.Destinations, d)
	}
	return kv
}

// Optional lists the destinations of the desired table that are to be kept
// when present but not put back when absent: a real server not yet checked
// (without quiescent), which only an adopted table holds; and with
// quiescent = yes and readdquiescent = no, a real server that went down and
// that someone removed by hand stays out, so that its persistent
// connections are cleared.
func Optional(cfg *conf.Config, health Health) []Ref {
	var out []Ref
	for _, v := range cfg.Virtuals {
		svc := Service(v)
		keepDown := v.Settings.Quiescent && !v.Settings.ReaddQuiescent
		for _, r := range v.Reals {
			switch health[v.ID][r.ID] {
			case Unknown:
				if !v.Settings.Quiescent {
					out = append(out, Ref{Service: svc, Dest: Destination(v, r, r.Weight)})
				}
			case Down:
				if keepDown {
					out = append(out, Ref{Service: svc, Dest: Destination(v, r, 0)})
				}
			}
		}
	}
	return out
}

// Service is the kernel service of a virtual.
func Service(v *conf.Virtual) kernel.Service {
	s := kernel.Service{
		Scheduler:   v.Scheduler,
		Flags:       append([]string(nil), v.SchedFlags...),
		Persistent:  uint32(v.Persistent.Seconds()),
		NetmaskBits: v.NetmaskBits,
		OnePacket:   v.OPS,
		IPv6:        v.IPv6,
	}
	if v.FWMark != 0 || v.Protocol == conf.FWM {
		s.FWMark = v.FWMark
		return s
	}
	s.Protocol = string(v.Protocol)
	s.Addr = v.Addr
	s.Port = v.Port
	return s
}

// Destination is the kernel destination of real server r of v at weight w.
// With direct routing or tunnelling the kernel serves the virtual's port, so
// the destination takes it, as the kernel would record it anyway.
func Destination(v *conf.Virtual, r *conf.Real, w int) kernel.Destination {
	port := r.Port
	if port == 0 || (r.Method != conf.Masq && v.FWMark == 0 && v.Port != 0) {
		port = v.Port
	}
	return kernel.Destination{
		Addr:   r.Addr,
		Port:   port,
		Method: kernel.Forward(r.Method),
		Weight: w,
		Upper:  r.Upper,
		Lower:  r.Lower,
	}
}

func appendUnique(ds []kernel.Destination, d kernel.Destination) []kernel.Destination {
	for _, x := range ds {
		if sameDest(x.Addr, x.Port, d.Addr, d.Port) {
			return ds
		}
	}
	return append(ds, d)
}

func sameDest(a netip.Addr, ap uint16, b netip.Addr, bp uint16) bool {
	return a == b && ap == bp
}
