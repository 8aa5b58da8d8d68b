package kernel

import (
	"net/netip"
	"slices"
	"testing"
)

func TestServiceKey(t *testing.T) {
	tests := []struct {
		svc  Service
		want ServiceKey
	}{
		{svcTCP("10.0.0.1", 80), "ipv4/tcp/10.0.0.1:80"},
		{Service{Protocol: "UDP", Addr: netip.MustParseAddr("10.0.0.1"), Port: 53}, "ipv4/udp/10.0.0.1:53"},
		{svcTCP("::ffff:10.0.0.1", 80), "ipv4/tcp/10.0.0.1:80"},
		{svcTCP("2001:db8::1", 443), "ipv6/tcp/[2001:db8::1]:443"},
		{svcMark(7, false), "ipv4/fwmark/7"},
		{svcMark(7, true), "ipv6/fwmark/7"},
		// A mark wins over a stray protocol and address.
		{Service{FWMark: 3, Protocol: "tcp", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, "ipv4/fwmark/3"},
	}
	for _, tt := range tests {
		if got := tt.svc.Key(); got != tt.want {
			t.Errorf("Key(%+v) = %q, want %q", tt.svc, got, tt.want)
		}
	}
	if a, b := svcTCP("10.0.0.1", 80), svcUDP("10.0.0.1", 80); a.Key() == b.Key() {
		t.Errorf("tcp and udp services share key %q", a.Key())
	}
}

func TestDestinationKey(t *testing.T) {
	if got := dst("10.0.0.2", 8080, Masq, 1).Key(); got != "10.0.0.2:8080" {
		t.Errorf("got %q, want 10.0.0.2:8080", got)
	}
	if got := dst("2001:db8::2", 80, Gate, 1).Key(); got != "[2001:db8::2]:80" {
		t.Errorf("got %q, want [2001:db8::2]:80", got)
	}
}

func TestServiceNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Service
		want Service
	}{
		{"default scheduler and full netmask",
			Service{Protocol: "TCP", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80},
			Service{Protocol: "tcp", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32}},
		{"netmask ignored without persistence",
			Service{Protocol: "tcp", Addr: netip.MustParseAddr("2001:db8::1"), Port: 80, Scheduler: "RR", NetmaskBits: 64},
			Service{Protocol: "tcp", Addr: netip.MustParseAddr("2001:db8::1"), Port: 80, IPv6: true, Scheduler: "rr", NetmaskBits: 128}},
		{"persistent keeps its netmask",
			Service{Protocol: "tcp", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "wrr", Persistent: 300, NetmaskBits: 24},
			Service{Protocol: "tcp", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "wrr", Persistent: 300, NetmaskBits: 24}},
		{"persistent without netmask is per client",
			Service{FWMark: 9, IPv6: true, Scheduler: "wrr", Persistent: 60},
			Service{FWMark: 9, IPv6: true, Scheduler: "wrr", Persistent: 60, NetmaskBits: 128}},
		{"flags named for sh, sorted, deduplicated",
			Service{FWMark: 1, Scheduler: "sh", Flags: []string{"flag-2", "sh-fallback", "FLAG-1"}},
			Service{FWMark: 1, Scheduler: "sh", Flags: []string{"sh-fallback", "sh-port"}, NetmaskBits: 32}},
		{"flags named for mh",
			Service{FWMark: 1, Scheduler: "mh", Flags: []string{"sh-port"}},
			Service{FWMark: 1, Scheduler: "mh", Flags: []string{"mh-port"}, NetmaskBits: 32}},
		{"flags of other schedulers are numbered",
			Service{FWMark: 1, Scheduler: "wrr", Flags: []string{"sh-port", "flag-3"}},
			Service{FWMark: 1, Scheduler: "wrr", Flags: []string{"flag-2", "flag-3"}, NetmaskBits: 32}},
	}
	for _, tt := range tests {
		got := tt.in.Normalize()
		if got.Key() != tt.want.Key() || !sameSettings(got, tt.want) || got.IPv6 != tt.want.IPv6 {
			t.Errorf("%s: Normalize(%+v) = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
		if again := got.Normalize(); !sameSettings(again, got) || again.Key() != got.Key() {
			t.Errorf("%s: Normalize is not idempotent: %+v then %+v", tt.name, got, again)
		}
	}
}

func TestDestinationNormalize(t *testing.T) {
	svc := svcTCP("10.0.0.1", 80)
	tests := []struct {
		name string
		svc  Service
		in   Destination
		want Destination
	}{
		{"gate takes the service port", svc, dst("10.0.0.2", 8080, "", 1), dst("10.0.0.2", 80, Gate, 1)},
		{"ipip takes the service port", svc, dst("10.0.0.2", 8080, "IPIP", 1), dst("10.0.0.2", 80, IPIP, 1)},
		{"masq keeps its port", svc, dst("10.0.0.2", 8080, Masq, 1), dst("10.0.0.2", 8080, Masq, 1)},
		{"firewall mark keeps the port", svcMark(1, false), dst("10.0.0.2", 8080, Gate, 1), dst("10.0.0.2", 8080, Gate, 1)},
		{"mapped address", svc, dst("::ffff:10.0.0.2", 80, Gate, 0), dst("10.0.0.2", 80, Gate, 0)},
	}
	for _, tt := range tests {
		if got := tt.in.Normalize(tt.svc); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestChangeString(t *testing.T) {
	s := svcTCP("10.0.0.1", 80)
	p := Service{Protocol: "udp", Addr: netip.MustParseAddr("10.0.0.1"), Port: 53, Scheduler: "sh",
		Flags: []string{"flag-1"}, Persistent: 300, NetmaskBits: 24, OnePacket: true}
	v6 := Service{Protocol: "tcp", Addr: netip.MustParseAddr("2001:db8::1"), Port: 443, Scheduler: "rr", Persistent: 60, NetmaskBits: 64}
	d := Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 8080, Method: Masq, Weight: 5, Upper: 100, Lower: 10}
	tests := []struct {
		c    Change
		want string
	}{
		{Change{Op: OpAddService, Service: s}, "-A -t 10.0.0.1:80 -s wrr"},
		{Change{Op: OpEditService, Service: p}, "-E -u 10.0.0.1:53 -s sh -b sh-fallback -p 300 -M 255.255.255.0 -o"},
		{Change{Op: OpAddService, Service: v6}, "-A -t [2001:db8::1]:443 -s rr -p 60 -M 64"},
		{Change{Op: OpDelService, Service: svcMark(7, true)}, "-D -f 7 -6"},
		{Change{Op: OpAddDest, Service: s, Destination: dst("10.0.0.2", 80, Gate, 1)}, "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1"},
		{Change{Op: OpEditDest, Service: s, Destination: d}, "-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 5 -x 100 -y 10"},
		{Change{Op: OpAddDest, Service: svcMark(1, false), Destination: dst("10.0.0.3", 0, IPIP, 0)}, "-a -f 1 -r 10.0.0.3:0 -i -w 0"},
		{Change{Op: OpDelDest, Service: v6, Destination: dst("2001:db8::2", 443, Gate, 1)}, "-d -t [2001:db8::1]:443 -r [2001:db8::2]:443"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.c.Op, got, tt.want)
		}
	}
}

func TestCompareServicesOrder(t *testing.T) {
	in := []Service{svcMark(2, true), svcTCP("2001:db8::1", 80), svcMark(1, false), svcUDP("10.0.0.1", 53),
		svcTCP("10.0.0.10", 80), svcTCP("10.0.0.9", 80), svcTCP("10.0.0.9", 22)}
	var got []ServiceKey
	slices.SortFunc(in, compareServices)
	for _, s := range in {
		got = append(got, s.Key())
	}
	want := []ServiceKey{"ipv4/tcp/10.0.0.9:22", "ipv4/tcp/10.0.0.9:80", "ipv4/tcp/10.0.0.10:80",
		"ipv4/udp/10.0.0.1:53", "ipv4/fwmark/1", "ipv6/tcp/[2001:db8::1]:80", "ipv6/fwmark/2"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}
