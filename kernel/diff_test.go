package kernel

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	web := svcTCP("10.0.0.1", 80)
	dns := svcUDP("10.0.0.1", 53)
	v6 := svcTCP("2001:db8::1", 443)
	mark := svcMark(7, false)
	mark6 := svcMark(8, true)
	foreign := svcTCP("10.9.9.9", 25)
	r1 := dst("10.0.0.2", 80, Gate, 1)
	r2 := dst("10.0.0.3", 80, Gate, 1)
	r3 := dst("10.0.0.4", 80, Gate, 1)
	with := func(s Service, f func(*Service)) Service { f(&s); return s }
	weight := func(d Destination, w int) Destination { d.Weight = w; return d }
	ownAll := func(ServiceKey) bool { return true }
	ownNone := func(ServiceKey) bool { return false }

	tests := []struct {
		name            string
		desired, actual []Virtual
		owned           func(ServiceKey) bool
		want            []string
	}{
		{name: "empty", want: nil},
		{name: "new service, destinations after it, in address order",
			desired: []Virtual{vs(web, r2, r1)},
			want: []string{
				"-A -t 10.0.0.1:80 -s wrr",
				"-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1",
				"-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 1",
			}},
		{name: "equal tables give nothing",
			desired: []Virtual{vs(web, r1, r2)}, actual: []Virtual{vs(web, r2, r1)}, owned: ownAll},
		{name: "equal after normalization",
			desired: []Virtual{vs(Service{Protocol: "TCP", Addr: netip.MustParseAddr("::ffff:10.0.0.1"), Port: 80, NetmaskBits: 8},
				Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 8080, Weight: 1})},
			actual: []Virtual{vs(Service{Protocol: "tcp", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "wlc", NetmaskBits: 32},
				dst("10.0.0.2", 80, Gate, 1))}},
		{name: "weight edited in place",
			desired: []Virtual{vs(web, r1, weight(r2, 0))}, actual: []Virtual{vs(web, r1, r2)},
			want: []string{"-e -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 0"}},
		{name: "thresholds and method edited in place",
			desired: []Virtual{vs(web, Destination{Addr: r1.Addr, Port: 80, Method: Masq, Weight: 1, Upper: 50, Lower: 5})},
			actual:  []Virtual{vs(web, r1)},
			want:    []string{"-e -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1 -x 50 -y 5"}},
		{name: "scheduler, persistence and flags edited in place",
			desired: []Virtual{vs(with(web, func(s *Service) {
				s.Scheduler, s.Persistent, s.NetmaskBits, s.Flags = "sh", 300, 24, []string{"sh-port"}
			}), r1)},
			actual: []Virtual{vs(web, r1)},
			want:   []string{"-E -t 10.0.0.1:80 -s sh -b sh-port -p 300 -M 255.255.255.0"}},
		{name: "one-packet edited in place",
			desired: []Virtual{vs(with(dns, func(s *Service) { s.OnePacket = true }))},
			actual:  []Virtual{vs(dns)},
			want:    []string{"-E -u 10.0.0.1:53 -s wrr -o"}},
		{name: "failed real removed before the new one is added",
			desired: []Virtual{vs(web, r1, r3)}, actual: []Virtual{vs(web, r1, r2)},
			want: []string{
				"-d -t 10.0.0.1:80 -r 10.0.0.3:80",
				"-a -t 10.0.0.1:80 -r 10.0.0.4:80 -g -w 1",
			}},
		{name: "foreign services are left alone",
			desired: []Virtual{vs(web, r1)}, actual: []Virtual{vs(foreign, r2), vs(web, r1)}, owned: ownNone},
		{name: "nil owned owns nothing",
			actual: []Virtual{vs(foreign, r2)}, owned: nil},
		{name: "owned but undesired services go, destinations first",
			desired: []Virtual{vs(web, r1)},
			actual:  []Virtual{vs(web, r1), vs(dns, r2, r1), vs(foreign, r3)},
			owned:   func(k ServiceKey) bool { return k == dns.Key() },
			want: []string{
				"-d -u 10.0.0.1:53 -r 10.0.0.2:80",
				"-d -u 10.0.0.1:53 -r 10.0.0.3:80",
				"-D -u 10.0.0.1:53",
			}},
		{name: "desired services are ours even when owned says no",
			desired: []Virtual{vs(web, r2)}, actual: []Virtual{vs(web, r1)}, owned: ownNone,
			want: []string{
				"-d -t 10.0.0.1:80 -r 10.0.0.2:80",
				"-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 1",
			}},
		{name: "IPv6 and firewall marks",
			desired: []Virtual{
				vs(mark6, dst("2001:db8::3", 0, Gate, 2)),
				vs(v6, dst("2001:db8::2", 443, Masq, 1)),
				vs(mark, dst("10.0.0.2", 0, Gate, 1)),
			},
			actual: []Virtual{vs(mark, dst("10.0.0.2", 0, Gate, 3), dst("10.0.0.3", 0, Gate, 1))},
			want: []string{
				"-d -f 7 -r 10.0.0.3:0",
				"-A -t [2001:db8::1]:443 -s wrr",
				"-A -f 8 -6 -s wrr",
				"-e -f 7 -r 10.0.0.2:0 -g -w 1",
				"-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 1",
				"-a -f 8 -6 -r [2001:db8::3]:0 -g -w 2",
			}},
		{name: "phases across services: deletes, service edits, adds, destination edits, adds",
			desired: []Virtual{
				vs(with(web, func(s *Service) { s.Scheduler = "rr" }), weight(r1, 5), r3),
				vs(dns, dst("10.0.0.5", 53, Masq, 1)),
			},
			actual: []Virtual{vs(web, r1, r2), vs(mark, r1)},
			owned:  ownAll,
			want: []string{
				"-d -t 10.0.0.1:80 -r 10.0.0.3:80",
				"-d -f 7 -r 10.0.0.2:80",
				"-D -f 7",
				"-E -t 10.0.0.1:80 -s rr",
				"-A -u 10.0.0.1:53 -s wrr",
				"-e -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 5",
				"-a -t 10.0.0.1:80 -r 10.0.0.4:80 -g -w 1",
				"-a -u 10.0.0.1:53 -r 10.0.0.5:53 -m -w 1",
			}},
		{name: "a gatewaying real added by hand with another port is replaced",
			desired: []Virtual{vs(web, r1)}, actual: []Virtual{vs(web, dst("10.0.0.2", 8080, Gate, 1))},
			want: []string{
				"-d -t 10.0.0.1:80 -r 10.0.0.2:8080",
				"-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1",
			}},
		{name: "the first of duplicates counts",
			desired: []Virtual{vs(web, r1, weight(r1, 9)), vs(with(web, func(s *Service) { s.Scheduler = "rr" }))},
			want: []string{
				"-A -t 10.0.0.1:80 -s wrr",
				"-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := slices.Clone(tt.desired)
			got := strs(Diff(tt.desired, tt.actual, tt.owned))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Diff changes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if !slices.EqualFunc(desired, tt.desired, func(a, b Virtual) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
				t.Errorf("Diff changed its input")
			}
			if again := strs(Diff(tt.desired, tt.actual, tt.owned)); !slices.Equal(again, got) {
				t.Errorf("Diff is not deterministic: %v then %v", got, again)
			}
		})
	}
}

// TestDiffChangesCarryNormalizedValues checks what the table receives, not
// only how it prints.
func TestDiffChangesCarryNormalizedValues(t *testing.T) {
	in := Service{Protocol: "TCP", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	got := Diff([]Virtual{vs(in, Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 8080, Weight: 1})}, nil, nil)
	want := []Change{
		{Op: OpAddService, Service: Service{Protocol: "tcp", Addr: in.Addr, Port: 80, Scheduler: "wlc", NetmaskBits: 32}},
		{Op: OpAddDest, Service: Service{Protocol: "tcp", Addr: in.Addr, Port: 80, Scheduler: "wlc", NetmaskBits: 32},
			Destination: Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, Method: Gate, Weight: 1}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
