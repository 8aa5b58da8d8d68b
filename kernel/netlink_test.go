package kernel

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/ipvs"
)

// The conversions are checked here against the kernel's encoding; the VM
// tests check them against the kernel itself.
func TestServiceConversionRoundTrip(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.1")
	v6 := netip.MustParseAddr("2001:db8::1")
	for _, s := range []Service{
		{Protocol: "tcp", Addr: v4, Port: 80, Scheduler: "wrr"},
		{Protocol: "udp", Addr: v6, Port: 53, Scheduler: "rr", OnePacket: true},
		{Protocol: "tcp", Addr: v4, Port: 443, Scheduler: "sh", Flags: []string{"sh-fallback", "sh-port"}, Persistent: 300, NetmaskBits: 24},
		{Protocol: "tcp", Addr: v6, Port: 443, Scheduler: "mh", Flags: []string{"mh-port"}, Persistent: 60, NetmaskBits: 64},
		{FWMark: 7, Scheduler: "wlc", Persistent: 10, NetmaskBits: 16},
		{FWMark: 8, IPv6: true, Scheduler: "lc", Flags: []string{"flag-3"}},
	} {
		is, err := toIPVSService(s)
		if err != nil {
			t.Fatalf("toIPVSService(%s): %v", s.Key(), err)
		}
		got, err := fromIPVSService(is)
		if err != nil {
			t.Fatalf("fromIPVSService(%s): %v", s.Key(), err)
		}
		if want := s.Normalize(); !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", s.Key(), got, want)
		}
	}
}

func TestServiceEncoding(t *testing.T) {
	is, err := toIPVSService(Service{Protocol: "udp", Addr: netip.MustParseAddr("192.0.2.1"), Port: 53, Scheduler: "sh",
		Flags: []string{"sh-port"}, Persistent: 300, NetmaskBits: 24, OnePacket: true})
	if err != nil {
		t.Fatal(err)
	}
	var mask [4]byte
	binary.NativeEndian.PutUint32(mask[:], is.Netmask)
	if mask != [4]byte{255, 255, 255, 0} {
		t.Errorf("IPv4 netmask bytes = %v, want 255.255.255.0 in network order", mask)
	}
	// persistent 0x1, one-packet 0x4, SCHED2 (sh-port) 0x10
	if is.Flags != 0x15 || is.Timeout != 300 || is.Protocol != syscall.IPPROTO_UDP || is.AddressFamily != syscall.AF_INET {
		t.Errorf("encoded service = %+v, want flags 0x15, timeout 300, udp, AF_INET", is)
	}
	is, _ = toIPVSService(Service{Protocol: "tcp", Addr: netip.MustParseAddr("2001:db8::1"), Port: 80})
	if is.Netmask != 128 || is.Flags != 0 || is.SchedName != DefaultScheduler {
		t.Errorf("IPv6 service without persistence = %+v, want netmask 128, no flags, scheduler %s", is, DefaultScheduler)
	}
	if _, err := toIPVSService(Service{Protocol: "icmp", Addr: netip.MustParseAddr("192.0.2.1")}); err == nil {
		t.Error("protocol icmp accepted")
	}
	if _, err := toIPVSService(Service{Protocol: "tcp", Addr: netip.MustParseAddr("192.0.2.1"), Flags: []string{"bogus"}}); err == nil {
		t.Error("unknown flag accepted")
	}
}

func TestDestinationConversion(t *testing.T) {
	svc := Service{Protocol: "tcp", Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}
	for _, tc := range []struct {
		d    Destination
		wire uint32
	}{
		{Destination{Addr: netip.MustParseAddr("192.0.2.10"), Port: 8080, Method: Masq, Weight: 65535, Upper: 100, Lower: 10}, ipvs.ConnFwdMasq},
		{Destination{Addr: netip.MustParseAddr("192.0.2.11"), Port: 80, Method: Gate, Weight: 0}, ipvs.ConnFwdDirectRoute},
		{Destination{Addr: netip.MustParseAddr("192.0.2.12"), Port: 80, Method: IPIP, Weight: 1}, ipvs.ConnFwdTunnel},
	} {
		id, err := toIPVSDestination(svc, tc.d)
		if err != nil {
			t.Fatalf("toIPVSDestination(%s): %v", tc.d.Key(), err)
		}
		if id.ConnectionFlags != tc.wire {
			t.Errorf("%s: forwarding %#x, want %#x", tc.d.Method, id.ConnectionFlags, tc.wire)
		}
		got, err := fromIPVSDestination(id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.d) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.d)
		}
	}
	for _, bad := range []Destination{
		{Addr: netip.MustParseAddr("192.0.2.10"), Method: Masq, Weight: 65536},
		{Addr: netip.MustParseAddr("192.0.2.10"), Method: Masq, Weight: -1},
		{Addr: netip.MustParseAddr("192.0.2.10"), Method: "route"},
		{Addr: netip.MustParseAddr("2001:db8::2"), Method: Masq},
	} {
		if _, err := toIPVSDestination(svc, bad); err == nil {
			t.Errorf("destination %+v accepted", bad)
		}
	}
}

func TestKernelErrorsMapToSentinels(t *testing.T) {
	n := &Netlink{where: "test"}
	for errno, want := range map[syscall.Errno]error{syscall.EEXIST: ErrExist, syscall.ENOENT: ErrNotExist, syscall.ESRCH: ErrNotExist} {
		err := n.fail("adding", "x", errno)
		if !errors.Is(err, want) || !errors.Is(err, errno) {
			t.Errorf("errno %v mapped to %v, want it to wrap %v and the errno", errno, err, want)
		}
	}
	if err := n.fail("adding", "x", syscall.EINVAL); errors.Is(err, ErrExist) || errors.Is(err, ErrNotExist) {
		t.Errorf("EINVAL mapped to a sentinel: %v", err)
	}
}

// On a kernel without IPVS (this project's build host), opening the table
// fails at once and says why, rather than on every later call.
func TestNewNetlinkWithoutIPVS(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has IPVS; TestVM covers NewNetlink")
	}
	tab, err := NewNetlink()
	if err == nil || tab != nil {
		t.Fatalf("NewNetlink without IPVS = %v, %v; want nil and an error", tab, err)
	}
	if !strings.Contains(err.Error(), "ip_vs module") {
		t.Errorf("error does not point at the ip_vs module: %v", err)
	}
	if _, err := NewNetlinkInNamespace("no-such-namespace"); err == nil || !strings.Contains(err.Error(), "/var/run/netns/no-such-namespace") {
		t.Errorf("NewNetlinkInNamespace of a missing namespace: err = %v, want one naming its path", err)
	}
}
