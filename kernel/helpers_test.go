package kernel

import (
	"net/netip"
	"testing"
)

func svcTCP(addr string, port uint16) Service {
	return Service{Protocol: "tcp", Addr: netip.MustParseAddr(addr), Port: port, Scheduler: "wrr"}
}

func svcUDP(addr string, port uint16) Service {
	return Service{Protocol: "udp", Addr: netip.MustParseAddr(addr), Port: port, Scheduler: "wrr"}
}

func svcMark(mark uint32, v6 bool) Service {
	return Service{FWMark: mark, IPv6: v6, Scheduler: "wrr"}
}

func dst(addr string, port uint16, m Forward, w int) Destination {
	return Destination{Addr: netip.MustParseAddr(addr), Port: port, Method: m, Weight: w}
}

func vs(s Service, ds ...Destination) Virtual {
	return Virtual{Service: s, Destinations: ds}
}

func strs(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// load fills a table through its own methods, as ipvsadm would.
func load(t testing.TB, tb Table, vs ...Virtual) {
	t.Helper()
	for _, v := range vs {
		if err := tb.AddService(v.Service); err != nil {
			t.Fatalf("load %s: %v", v.Service.Key(), err)
		}
		for _, d := range v.Destinations {
			if err := tb.AddDestination(v.Service, d); err != nil {
				t.Fatalf("load %s %s: %v", v.Service.Key(), d.Key(), err)
			}
		}
	}
}
