package kernel

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DefaultScheduler is the scheduler ipvsadm uses when none is given; the
// kernel itself has no default.
const DefaultScheduler = "wlc"

// Normalization rules. The kernel keeps some settings in a canonical form
// and ignores others, so a desired service must be put in the same form
// before it can be compared with what List reads back:
//
//   - A firewall-mark service has no protocol, address or port; the family
//     comes from IPv6. An address service takes its family from the address,
//     and an IPv4-mapped IPv6 address is an IPv4 one.
//   - Protocol and scheduler names are lower case; no scheduler means
//     DefaultScheduler.
//   - The netmask only matters to a persistent service. When the service is
//     not persistent, or no netmask is given, it is the full length (32 or
//     128): what ipvsadm sends and the kernel returns.
//   - Flags are kept as the kernel keeps them, as bits, and named as ipvsadm
//     names them for the scheduler: sh-fallback and sh-port for sh,
//     mh-fallback and mh-port for mh, flag-1..flag-3 otherwise. They are
//     sorted and without duplicates.
//   - A destination without a method is gatewaying (ipvsadm's default). A
//     gatewaying or tunnelled destination of an address service has the
//     service's port, as ipvsadm forces it: the packet is not rewritten, so
//     another port would be a lie.

// Normalize returns the service in the canonical form described above.
func (s Service) Normalize() Service {
	n := s
	n.Flags = nil
	if n.FWMark != 0 {
		n.Protocol, n.Addr, n.Port = "", netip.Addr{}, 0
	} else {
		n.Protocol = strings.ToLower(strings.TrimSpace(n.Protocol))
		n.Addr = n.Addr.Unmap().WithZone("")
		if n.Addr.IsValid() {
			n.IPv6 = n.Addr.Is6()
		}
	}
	n.Scheduler = strings.ToLower(strings.TrimSpace(n.Scheduler))
	if n.Scheduler == "" {
		n.Scheduler = DefaultScheduler
	}
	full := 32
	if n.IPv6 {
		full = 128
	}
	if n.Persistent == 0 || n.NetmaskBits <= 0 || n.NetmaskBits > full {
		n.NetmaskBits = full
	}
	n.Flags = normalizeFlags(n.Scheduler, s.Flags)
	return n
}

// Scheduler flag bits (IP_VS_SVC_F_SCHED1..3); each has one name per
// scheduler that gives it a meaning.
var flagBits = map[string]int{
	"flag-1": 1, "sh-fallback": 1, "mh-fallback": 1,
	"flag-2": 2, "sh-port": 2, "mh-port": 2,
	"flag-3": 3,
}

func flagName(scheduler string, bit int) string {
	switch {
	case scheduler == "sh" && bit == 1:
		return "sh-fallback"
	case scheduler == "sh" && bit == 2:
		return "sh-port"
	case scheduler == "mh" && bit == 1:
		return "mh-fallback"
	case scheduler == "mh" && bit == 2:
		return "mh-port"
	}
	return "flag-" + strconv.Itoa(bit)
}

// normalizeFlags names known flags for the scheduler; unknown names are
// kept (lower case) so that the table refuses them rather than this code
// silently dropping them.
func normalizeFlags(scheduler string, flags []string) []string {
	var out []string
	for _, f := range flags {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if bit, ok := flagBits[f]; ok {
			f = flagName(scheduler, bit)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Normalize returns the destination in the canonical form it has in the
// table of service svc (see the rules above).
func (d Destination) Normalize(svc Service) Destination {
	n := d.clean()
	if svc.FWMark == 0 && (n.Method == Gate || n.Method == IPIP) {
		n.Port = svc.Port
	}
	return n
}

// clean normalizes what the kernel normalizes, and not the port: the kernel
// keeps the port it is given, and a destination that someone added with
// another port must keep its key to be found again.
func (d Destination) clean() Destination {
	n := d
	n.Addr = n.Addr.Unmap().WithZone("")
	n.Method = Forward(strings.ToLower(strings.TrimSpace(string(n.Method))))
	if n.Method == "" {
		n.Method = Gate
	}
	return n
}

// Normalize returns the virtual service with its service and destinations
// normalized; destinations keep their order.
func (v Virtual) Normalize() Virtual {
	n := Virtual{Service: v.Service.Normalize()}
	if v.Destinations != nil {
		n.Destinations = make([]Destination, len(v.Destinations))
		for i, d := range v.Destinations {
			n.Destinations[i] = d.Normalize(n.Service)
		}
	}
	return n
}

// Key returns the service's identity in the kernel, written as
// "ipv4/tcp/10.0.0.1:80", "ipv6/udp/[2001:db8::1]:53" or "ipv4/fwmark/7".
// Settings (scheduler, persistence, flags) are not part of it.
func (s Service) Key() ServiceKey {
	n := s.Normalize()
	family := "ipv4"
	if n.IPv6 {
		family = "ipv6"
	}
	if n.FWMark != 0 {
		return ServiceKey(fmt.Sprintf("%s/fwmark/%d", family, n.FWMark))
	}
	return ServiceKey(family + "/" + n.Protocol + "/" + netip.AddrPortFrom(n.Addr, n.Port).String())
}

// Key returns the destination's identity within its service, written as
// "10.0.0.2:80" or "[2001:db8::2]:80". Key does not apply the port rule
// for gatewaying, which needs the service: key a normalized destination.
func (d Destination) Key() DestKey {
	return DestKey(netip.AddrPortFrom(d.Addr.Unmap().WithZone(""), d.Port).String())
}

// compareServices orders normalized services: IPv4 before IPv6, address
// services before firewall marks, then by protocol, address and port, or
// by mark.
func compareServices(a, b Service) int {
	if c := cmpBool(isIPv6(a), isIPv6(b)); c != 0 {
		return c
	}
	if c := cmpBool(a.FWMark != 0, b.FWMark != 0); c != 0 {
		return c
	}
	if a.FWMark != 0 {
		return cmp.Compare(a.FWMark, b.FWMark)
	}
	if c := cmp.Compare(a.Protocol, b.Protocol); c != 0 {
		return c
	}
	if c := a.Addr.Unmap().Compare(b.Addr.Unmap()); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// compareDests orders destinations by address and port.
func compareDests(a, b Destination) int {
	if c := a.Addr.Unmap().Compare(b.Addr.Unmap()); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

func isIPv6(s Service) bool {
	if s.FWMark == 0 && s.Addr.IsValid() {
		return s.Addr.Unmap().Is6()
	}
	return s.IPv6
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// sameSettings reports whether two normalized services have the same
// settings, keys aside.
func sameSettings(a, b Service) bool {
	return a.Scheduler == b.Scheduler && slices.Equal(a.Flags, b.Flags) &&
		a.Persistent == b.Persistent && a.NetmaskBits == b.NetmaskBits &&
		a.OnePacket == b.OnePacket
}

// sameDest reports whether two normalized destinations have the same
// settings, keys aside.
func sameDest(a, b Destination) bool {
	return a.Method == b.Method && a.Weight == b.Weight && a.Upper == b.Upper && a.Lower == b.Lower
}
