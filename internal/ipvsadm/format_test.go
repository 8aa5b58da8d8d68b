package ipvsadm

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
)

func sp(n int) string { return strings.Repeat(" ", n) }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// sample is a table with one of each kind of entry ipvsadm lists
// differently, given out of ipvsadm's order.
func sample() []kernel.Virtual {
	return []kernel.Virtual{
		{Service: kernel.Service{FWMark: 2, IPv6: true, Scheduler: "rr", NetmaskBits: 128}},
		{Service: kernel.Service{FWMark: 1, Scheduler: "wrr", NetmaskBits: 32},
			Destinations: []kernel.Destination{{Addr: addr("10.0.0.5"), Method: kernel.Gate, Weight: 3, Upper: 100, Lower: 10}}},
		{Service: kernel.Service{Protocol: "udp", Addr: addr("2001:db8::1"), Port: 53, IPv6: true, Scheduler: "wlc", Persistent: 600, NetmaskBits: 64},
			Destinations: []kernel.Destination{{Addr: addr("2001:db8::2"), Port: 53, Method: kernel.Masq, Weight: 1}}},
		{Service: kernel.Service{Protocol: "tcp", Addr: addr("10.0.0.1"), Port: 80, Scheduler: "sh", Flags: []string{"sh-port", "flag-1"}, NetmaskBits: 32}},
		{Service: kernel.Service{Protocol: "tcp", Addr: addr("192.168.6.240"), Port: 443, Scheduler: "wlc", Persistent: 300, NetmaskBits: 24, OnePacket: true, IPv6: false}},
		{Service: kernel.Service{Protocol: "tcp", Addr: addr("127.0.0.1"), Port: 80, Scheduler: "wrr", NetmaskBits: 32},
			Destinations: []kernel.Destination{
				{Addr: addr("127.0.0.3"), Port: 8080, Method: kernel.Masq, Weight: 0},
				{Addr: addr("127.0.0.2"), Port: 80, Method: kernel.Gate, Weight: 1},
				{Addr: addr("127.0.0.4"), Port: 80, Method: kernel.IPIP, Weight: 65535, Upper: 7},
			}},
	}
}

// The expected texts are written out column by column from ipvsadm 1.31's
// printf formats ("%-28s %-7s %-6d %-10u %-10u" and friends), not produced
// by the code under test.
var wantPlain = "IP Virtual Server version 1.2.1 (size=4096)\n" +
	"Prot LocalAddress:Port Scheduler Flags\n" +
	"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
	// 192.168.6.240 sorts before 10.0.0.1 and 127.0.0.1: ipvsadm compares
	// addresses by a signed 32-bit difference.
	"TCP  192.168.6.240:443 wlc persistent 300 mask 255.255.255.0 ops\n" +
	"TCP  10.0.0.1:80 sh (sh-fallback,sh-port)\n" +
	"TCP  127.0.0.1:80 wrr\n" +
	"  -> 127.0.0.2:80" + sp(17) + "Route" + sp(3) + "1" + sp(6) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"  -> 127.0.0.3:8080" + sp(15) + "Masq" + sp(4) + "0" + sp(6) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"  -> 127.0.0.4:80" + sp(17) + "Tunnel" + sp(2) + "65535" + sp(2) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"UDP  [2001:db8::1]:53 wlc persistent 600 mask 64\n" +
	"  -> [2001:db8::2]:53" + sp(13) + "Masq" + sp(4) + "1" + sp(6) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"FWM  1 wrr\n" +
	"  -> 10.0.0.5:0" + sp(19) + "Route" + sp(3) + "3" + sp(6) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"FWM  2 IPv6 rr\n"

var wantThresholds = "IP Virtual Server version 1.2.1 (size=4096)\n" +
	"Prot LocalAddress:Port" + sp(12) + "Uthreshold Lthreshold ActiveConn InActConn \n" +
	"  -> RemoteAddress:Port\n" +
	"TCP  192.168.6.240:443 wlc persistent 300 mask 255.255.255.0 ops\n" +
	"TCP  10.0.0.1:80 sh (sh-fallback,sh-port)\n" +
	"TCP  127.0.0.1:80 wrr\n" +
	"  -> 127.0.0.2:80" + sp(17) + "0" + sp(10) + "0" + sp(10) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"  -> 127.0.0.3:8080" + sp(15) + "0" + sp(10) + "0" + sp(10) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"  -> 127.0.0.4:80" + sp(17) + "7" + sp(10) + "0" + sp(10) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"UDP  [2001:db8::1]:53 wlc persistent 600 mask 64\n" +
	"  -> [2001:db8::2]:53" + sp(13) + "0" + sp(10) + "0" + sp(10) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"FWM  1 wrr\n" +
	"  -> 10.0.0.5:0" + sp(19) + "100" + sp(8) + "10" + sp(9) + "0" + sp(10) + "0" + sp(9) + "\n" +
	"FWM  2 IPv6 rr\n"

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name       string
		thresholds bool
		want       string
	}{{"plain", false, wantPlain}, {"thresholds", true, wantThresholds}} {
		t.Run(tc.name, func(t *testing.T) {
			got := Format(sample(), tc.thresholds)
			if got != tc.want {
				t.Errorf("Format mismatch\n got:\n%s\nwant:\n%s", show(got), show(tc.want))
			}
		})
	}
}

// show makes trailing blanks visible.
func show(s string) string { return strings.ReplaceAll(s, " \n", "·\n") }

func TestFormatEmpty(t *testing.T) {
	want := "IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
	if got := Format(nil, false); got != want {
		t.Errorf("Format(nil) = %q, want %q", got, want)
	}
}

func TestParseRoundTrip(t *testing.T) {
	plain, err := Parse(wantPlain)
	if err != nil {
		t.Fatalf("Parse(plain): %v", err)
	}
	th, err := Parse(wantThresholds)
	if err != nil {
		t.Fatalf("Parse(thresholds): %v", err)
	}
	got := MergeThresholds(plain, th)
	want := sorted(sample())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse of the listings:\n got %+v\nwant %+v", got, want)
	}
	for _, v := range th {
		for _, d := range v.Destinations {
			if d.Method != "" || d.Weight != 0 {
				t.Errorf("thresholds listing gave method %q weight %d for %v, want neither", d.Method, d.Weight, d.Addr)
			}
		}
	}
}

// sorted puts a table in ipvsadm's order with canonical flag names, as a
// listing gives it back.
func sorted(vs []kernel.Virtual) []kernel.Virtual {
	out := []kernel.Virtual{vs[4], vs[3], vs[5], vs[2], vs[1], vs[0]}
	out[1].Service.Flags = []string{"sh-fallback", "sh-port"}
	d := out[2].Destinations
	out[2].Destinations = []kernel.Destination{d[1], d[0], d[2]}
	return out
}

// A listing as a real ipvsadm prints it on a director, copied from a
// terminal, with connection counters that the model ignores.
const realListing = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.122.100:80 wlc
  -> 192.168.122.11:80            Route   1      12         240       
  -> 192.168.122.12:80            Local   1      0          0         
TCP  192.168.122.100:443 rr persistent 50
  -> 192.168.122.11:443           Masq    2      1          3         
`

func TestParseRealListing(t *testing.T) {
	got, err := Parse(realListing)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []kernel.Virtual{
		{Service: kernel.Service{Protocol: "tcp", Addr: addr("192.168.122.100"), Port: 80, Scheduler: "wlc", NetmaskBits: 32},
			Destinations: []kernel.Destination{
				{Addr: addr("192.168.122.11"), Port: 80, Method: kernel.Gate, Weight: 1},
				{Addr: addr("192.168.122.12"), Port: 80, Method: kernel.Gate, Weight: 1},
			}},
		{Service: kernel.Service{Protocol: "tcp", Addr: addr("192.168.122.100"), Port: 443, Scheduler: "rr", Persistent: 50, NetmaskBits: 32},
			Destinations: []kernel.Destination{{Addr: addr("192.168.122.11"), Port: 443, Method: kernel.Masq, Weight: 2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	head := "IP Virtual Server version 1.2.1 (size=4096)\n" + plainTitle
	for _, tc := range []struct{ in, want string }{
		{"", "expected at least the 3 title lines"},
		{"Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", "expected at least the 3 title lines"},
		{"hello\n" + plainTitle, "expected \"IP Virtual Server version"},
		{"IP Virtual Server version 1.2.1 (size=4096)\nProt\nx\n", "expected the title"},
		{head + "  -> 10.0.0.1:80 Route 1 0 0\n", "before any service"},
		{head + "ICMP 10.0.0.1:80 wlc\n", "expected TCP, UDP, SCTP or FWM"},
		{head + "TCP 10.0.0.1:80 wlc\n", "padded to 4 columns"},
		{head + "TCP  10.0.0.1 wlc\n", "expected a.b.c.d:port"},
		{head + "TCP  10.0.0.1:80\n", "expected \"PROTO ADDRESS:PORT SCHEDULER"},
		{head + "FWM  0 wlc\n", "from 1 to 4294967295"},
		{head + "TCP  10.0.0.1:80 wlc persistent x\n", "expected seconds"},
		{head + "TCP  10.0.0.1:80 wlc persistent 5 mask 255.0.255.0\n", "not contiguous"},
		{head + "TCP  10.0.0.1:80 wlc sticky\n", "expected persistent, mask, pe or ops"},
		{head + "TCP  10.0.0.1:80 wlc\n  -> 10.0.0.2:80 Bridge 1 0 0\n", "expected Route, Masq, Tunnel or Local"},
		{head + "TCP  10.0.0.1:80 wlc\n  -> 10.0.0.2:80 Route 1 0\n", "expected 5"},
		{head + "TCP  10.0.0.1:80 wlc\n  -> 10.0.0.2:80 Route -1 0 0\n", "expected a number"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(wantPlain)
	f.Add(wantThresholds)
	f.Add(realListing)
	f.Fuzz(func(t *testing.T, in string) {
		vs, err := Parse(in)
		if err != nil {
			return
		}
		// What parses must print and parse back to the same table, in
		// ipvsadm's order.
		for _, th := range []bool{false, true} {
			again, err := Parse(Format(vs, th))
			if err != nil {
				t.Fatalf("Parse(Format(Parse(%q))): %v", in, err)
			}
			if len(again) != len(vs) {
				t.Fatalf("round trip of %q: %d services, want %d", in, len(again), len(vs))
			}
		}
	})
}
