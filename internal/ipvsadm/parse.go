package ipvsadm

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// Parse reads the output of `ipvsadm -L -n` or `ipvsadm -L -n --thresholds`;
// the title line tells which. A plain listing gives each destination's
// forwarding method and weight, a thresholds listing its upper and lower
// connection thresholds (and leaves method and weight zero); MergeThresholds
// joins the two. Services without a persistence mask get the full mask
// (32 or 128 bits), as the kernel reports them.
func Parse(out string) ([]kernel.Virtual, error) {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("ipvsadm listing: %d lines, expected at least the 3 title lines", len(lines))
	}
	if !strings.HasPrefix(lines[0], "IP Virtual Server version ") {
		return nil, fmt.Errorf("ipvsadm listing line 1: %q, expected \"IP Virtual Server version ...\"", lines[0])
	}
	var thresholds bool
	switch lines[1] + "\n" + lines[2] + "\n" {
	case plainTitle:
	case thresholdsTitle:
		thresholds = true
	default:
		return nil, fmt.Errorf("ipvsadm listing lines 2-3: %q, expected the title of -L -n or -L -n --thresholds", lines[1]+"\n"+lines[2])
	}
	var vs []kernel.Virtual
	for i, line := range lines[3:] {
		n := i + 4
		if rest, ok := strings.CutPrefix(line, "  -> "); ok {
			if len(vs) == 0 {
				return nil, fmt.Errorf("ipvsadm listing line %d: destination %q before any service", n, line)
			}
			d, err := parseDest(rest, thresholds)
			if err != nil {
				return nil, fmt.Errorf("ipvsadm listing line %d: %w", n, err)
			}
			last := &vs[len(vs)-1]
			last.Destinations = append(last.Destinations, d)
			continue
		}
		s, err := parseService(line)
		if err != nil {
			return nil, fmt.Errorf("ipvsadm listing line %d: %w", n, err)
		}
		vs = append(vs, kernel.Virtual{Service: s})
	}
	return vs, nil
}

// MergeThresholds copies the thresholds of a --thresholds listing into the
// destinations of a plain one, matching services and destinations by key.
func MergeThresholds(plain, thresholds []kernel.Virtual) []kernel.Virtual {
	type key struct {
		svc  kernel.ServiceKey
		dest kernel.DestKey
	}
	th := map[key][2]uint32{}
	for _, v := range thresholds {
		for _, d := range v.Destinations {
			th[key{v.Service.Key(), d.Key()}] = [2]uint32{d.Upper, d.Lower}
		}
	}
	out := make([]kernel.Virtual, len(plain))
	for i, v := range plain {
		out[i] = kernel.Virtual{Service: v.Service, Destinations: append([]kernel.Destination(nil), v.Destinations...)}
		for j, d := range out[i].Destinations {
			if ul, ok := th[key{v.Service.Key(), d.Key()}]; ok {
				out[i].Destinations[j].Upper, out[i].Destinations[j].Lower = ul[0], ul[1]
			}
		}
	}
	return out
}

// parseService reads a service line such as
// "TCP  10.0.0.1:80 wlc (flag-1) persistent 300 mask 255.255.255.0 ops".
func parseService(line string) (kernel.Service, error) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return kernel.Service{}, fmt.Errorf("service line %q, expected \"PROTO ADDRESS:PORT SCHEDULER ...\"", line)
	}
	var s kernel.Service
	switch f[0] {
	case "TCP", "UDP", "SCTP":
		if !strings.HasPrefix(line, fmt.Sprintf("%-4s ", f[0])) {
			return s, fmt.Errorf("service line %q: protocol not padded to 4 columns as ipvsadm prints it", line)
		}
		s.Protocol = strings.ToLower(f[0])
		ap, err := parseAddrPort(f[1])
		if err != nil {
			return s, fmt.Errorf("service line %q: %w", line, err)
		}
		s.Addr, s.Port, s.IPv6 = ap.Addr(), ap.Port(), ap.Addr().Is6()
		f = f[2:]
	case "FWM":
		if !strings.HasPrefix(line, "FWM  ") {
			return s, fmt.Errorf("service line %q: expected \"FWM  MARK\"", line)
		}
		m, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil || m == 0 {
			return s, fmt.Errorf("service line %q: firewall mark %q, expected a number from 1 to 4294967295", line, f[1])
		}
		s.FWMark = uint32(m)
		f = f[2:]
		if len(f) > 0 && f[0] == "IPv6" {
			s.IPv6 = true
			f = f[1:]
		}
	default:
		return s, fmt.Errorf("service line %q: protocol %q, expected TCP, UDP, SCTP or FWM", line, f[0])
	}
	if len(f) == 0 {
		return s, fmt.Errorf("service line %q: no scheduler", line)
	}
	s.Scheduler, f = f[0], f[1:]
	s.NetmaskBits = 32
	if s.IPv6 {
		s.NetmaskBits = 128
	}
	if len(f) > 0 && strings.HasPrefix(f[0], "(") && strings.HasSuffix(f[0], ")") {
		s.Flags = strings.Split(strings.Trim(f[0], "()"), ",")
		f = f[1:]
	}
	for len(f) > 0 {
		switch {
		case f[0] == "persistent" && len(f) > 1:
			t, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return s, fmt.Errorf("service line %q: persistence timeout %q, expected seconds", line, f[1])
			}
			s.Persistent = uint32(t)
			f = f[2:]
		case f[0] == "mask" && len(f) > 1:
			bits, err := parseMask(f[1], s.IPv6)
			if err != nil {
				return s, fmt.Errorf("service line %q: %w", line, err)
			}
			s.NetmaskBits = bits
			f = f[2:]
		case f[0] == "pe" && len(f) > 1:
			f = f[2:] // persistence engines are not modelled
		case f[0] == "ops":
			s.OnePacket = true
			f = f[1:]
		default:
			return s, fmt.Errorf("service line %q: unexpected %q, expected persistent, mask, pe or ops", line, f[0])
		}
	}
	return s, nil
}

// parseDest reads what follows "  -> " on a destination line.
func parseDest(rest string, thresholds bool) (kernel.Destination, error) {
	f := strings.Fields(rest)
	if len(f) != 5 {
		return kernel.Destination{}, fmt.Errorf("destination %q: %d fields, expected 5", rest, len(f))
	}
	ap, err := parseAddrPort(f[0])
	if err != nil {
		return kernel.Destination{}, fmt.Errorf("destination %q: %w", rest, err)
	}
	d := kernel.Destination{Addr: ap.Addr(), Port: ap.Port()}
	nums := make([]uint32, 0, 4)
	first := 1
	if !thresholds {
		switch f[1] {
		case "Route", "Local":
			// Local is how old kernels show a real server on the director
			// itself; ipvsadm saves it as -g.
			d.Method = kernel.Gate
		case "Masq":
			d.Method = kernel.Masq
		case "Tunnel":
			d.Method = kernel.IPIP
		default:
			return d, fmt.Errorf("destination %q: forwarding %q, expected Route, Masq, Tunnel or Local", rest, f[1])
		}
		first = 2
	}
	for _, s := range f[first:] {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return d, fmt.Errorf("destination %q: %q, expected a number", rest, s)
		}
		nums = append(nums, uint32(n))
	}
	if thresholds {
		d.Upper, d.Lower = nums[0], nums[1]
	} else {
		if nums[0] > 1<<31-1 {
			return d, fmt.Errorf("destination %q: weight %d out of range", rest, nums[0])
		}
		d.Weight = int(nums[0])
	}
	return d, nil
}

// parseAddrPort reads a.b.c.d:port or [v6]:port; ports are always numeric
// in -n listings.
func parseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().Zone() != "" || ap.Addr().Is4In6() {
		return netip.AddrPort{}, fmt.Errorf("address %q, expected a.b.c.d:port or [ipv6]:port", s)
	}
	return ap, nil
}

// parseMask reads a persistence mask: dotted quad for IPv4, prefix length
// for IPv6.
func parseMask(s string, ipv6 bool) (int, error) {
	if ipv6 {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 128 {
			return 0, fmt.Errorf("mask %q, expected an IPv6 prefix length from 1 to 128", s)
		}
		return n, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("mask %q, expected a dotted quad netmask", s)
	}
	m := v4(a)
	bits := 0
	for bits < 32 && m&(1<<(31-bits)) != 0 {
		bits++
	}
	if bits < 32 && m<<bits != 0 {
		return 0, fmt.Errorf("mask %q is not contiguous, expected a netmask such as 255.255.255.0", s)
	}
	return bits, nil
}
