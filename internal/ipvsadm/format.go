// Package ipvsadm owns the text interface of ipvsadm(8): the listings that
// `ipvsadm -L -n` and `ipvsadm -L -n --thresholds` print, read and written
// byte for byte as ipvsadm 1.31 does (checked against the Debian binary:
// its printf formats, flag and sort order), and its command lines, turned into
// operations on a kernel.Table. The Perl ldirectord talks to IPVS only
// through these texts, so a stand-in ipvsadm built on this package lets the
// Perl daemon run where the kernel has no IPVS.
package ipvsadm

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// Version is the IPVS version line ipvsadm prints first; the kernel's IPVS
// has reported 1.2.1 with a 4096-entry connection table for many years.
const Version = "IP Virtual Server version 1.2.1 (size=4096)"

const (
	plainTitle = "Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
	destHeader = "  -> RemoteAddress:Port"
)

// thresholdsTitle is built with ipvsadm's own padding, trailing blanks
// included.
var thresholdsTitle = fmt.Sprintf("%-33s %-10s %-10s %-10s %-10s\n%s\n",
	"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn",
	destHeader)

// Format prints the table as `ipvsadm -L -n` does, or as
// `ipvsadm -L -n --thresholds` when thresholds is set. Services and their
// destinations are sorted as ipvsadm sorts them; vs is not modified.
// Connection counters are always zero: the model does not carry them.
func Format(vs []kernel.Virtual, thresholds bool) string {
	var b strings.Builder
	b.WriteString(Version + "\n")
	if thresholds {
		b.WriteString(thresholdsTitle)
	} else {
		b.WriteString(plainTitle)
	}
	sorted := slices.Clone(vs)
	slices.SortStableFunc(sorted, func(a, b kernel.Virtual) int { return cmpServices(a.Service, b.Service) })
	for _, v := range sorted {
		b.WriteString(serviceLine(v.Service))
		b.WriteByte('\n')
		dests := slices.Clone(v.Destinations)
		slices.SortStableFunc(dests, func(a, b kernel.Destination) int { return cmpDests(a, b) })
		for _, d := range dests {
			name := addrPort(d.Addr, d.Port)
			if thresholds {
				fmt.Fprintf(&b, "  -> %-28s %-10d %-10d %-10d %-10d\n", name, d.Upper, d.Lower, 0, 0)
			} else {
				fmt.Fprintf(&b, "  -> %-28s %-7s %-6d %-10d %-10d\n", name, forwardName(d.Method), d.Weight, 0, 0)
			}
		}
	}
	return b.String()
}

// serviceLine is the service line of both listings, without its newline.
func serviceLine(s kernel.Service) string {
	var b strings.Builder
	if s.FWMark != 0 {
		fmt.Fprintf(&b, "FWM  %d", s.FWMark)
		if s.IPv6 {
			b.WriteString(" IPv6")
		}
	} else {
		fmt.Fprintf(&b, "%-4s %s", strings.ToUpper(s.Protocol), addrPort(s.Addr, s.Port))
	}
	b.WriteString(" " + s.Scheduler)
	if flags := schedFlagNames(s.Scheduler, schedFlagBits(s.Flags)); len(flags) > 0 {
		b.WriteString(" (" + strings.Join(flags, ",") + ")")
	}
	if s.Persistent > 0 {
		fmt.Fprintf(&b, " persistent %d", s.Persistent)
		if isIPv6(s) {
			if s.NetmaskBits != 0 && s.NetmaskBits != 128 {
				fmt.Fprintf(&b, " mask %d", s.NetmaskBits)
			}
		} else if s.NetmaskBits != 0 && s.NetmaskBits != 32 {
			b.WriteString(" mask " + dottedMask(s.NetmaskBits))
		}
	}
	if s.OnePacket {
		b.WriteString(" ops")
	}
	return b.String()
}

func isIPv6(s kernel.Service) bool {
	return s.IPv6 || (s.Addr.IsValid() && s.Addr.Is6() && !s.Addr.Is4In6())
}

// addrPort prints an address and port the way ipvsadm -n does: a.b.c.d:p,
// or [v6]:p.
func addrPort(a netip.Addr, port uint16) string {
	if a.Is6() && !a.Is4In6() {
		return fmt.Sprintf("[%s]:%d", a, port)
	}
	return fmt.Sprintf("%s:%d", a.Unmap(), port)
}

func dottedMask(bits int) string {
	if bits < 0 || bits > 32 {
		return "255.255.255.255"
	}
	m := ^uint32(0) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

func forwardName(f kernel.Forward) string {
	switch f {
	case kernel.Masq:
		return "Masq"
	case kernel.IPIP:
		return "Tunnel"
	default:
		return "Route"
	}
}

// The scheduler flag bits of IPVS. Their names depend on the scheduler:
// flag 1 is sh-fallback for sh, mh-fallback for mh and flag-1 otherwise.
const (
	sched1 = 1 << iota
	sched2
	sched3
)

// schedFlagBits turns flag names of any spelling into bits.
func schedFlagBits(names []string) int {
	bits := 0
	for _, n := range names {
		switch n {
		case "flag-1", "sh-fallback", "mh-fallback":
			bits |= sched1
		case "flag-2", "sh-port", "mh-port":
			bits |= sched2
		case "flag-3":
			bits |= sched3
		}
	}
	return bits
}

// schedFlagNames names the bits as ipvsadm prints them for the scheduler.
func schedFlagNames(sched string, bits int) []string {
	names := [3]string{"flag-1", "flag-2", "flag-3"}
	switch sched {
	case "sh":
		names[0], names[1] = "sh-fallback", "sh-port"
	case "mh":
		names[0], names[1] = "mh-fallback", "mh-port"
	}
	var out []string
	for i, n := range names {
		if bits&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// CanonicalFlags returns the scheduler flags as ipvsadm lists them for the
// scheduler: each flag once, in bit order, named for the scheduler
// (flag-1 is "sh-fallback" for sh). Unknown names are dropped.
func CanonicalFlags(sched string, flags []string) []string {
	return schedFlagNames(sched, schedFlagBits(flags))
}

// cmpServices orders services as libipvs's ipvs_cmp_services does: by
// firewall mark, family, protocol, address and port. It keeps that
// function's quirk of comparing addresses by a 32-bit signed difference, so
// 192.168.0.1 sorts before 10.0.0.1, exactly as ipvsadm lists them.
func cmpServices(a, b kernel.Service) int {
	if a.FWMark != b.FWMark {
		return int(int32(a.FWMark - b.FWMark))
	}
	if fa, fb := family(isIPv6(a)), family(isIPv6(b)); fa != fb {
		return fa - fb
	}
	if pa, pb := protoNumber(a.Protocol), protoNumber(b.Protocol); pa != pb {
		return pa - pb
	}
	if r := cmpAddr(a.Addr, b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

// cmpDests orders destinations as ipvs_cmp_dests does: address, then port.
func cmpDests(a, b kernel.Destination) int {
	if r := cmpAddr(a.Addr, b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

func cmpAddr(a, b netip.Addr) int {
	if a.Is6() && !a.Is4In6() && b.Is6() && !b.Is4In6() {
		x, y := a.As16(), b.As16()
		for i := 0; i < 16; i += 4 {
			wa := uint32(x[i])<<24 | uint32(x[i+1])<<16 | uint32(x[i+2])<<8 | uint32(x[i+3])
			wb := uint32(y[i])<<24 | uint32(y[i+1])<<16 | uint32(y[i+2])<<8 | uint32(y[i+3])
			if r := int32(wa - wb); r != 0 {
				return int(r)
			}
		}
		return 0
	}
	return int(int32(v4(a) - v4(b)))
}

func v4(a netip.Addr) uint32 {
	if !a.IsValid() {
		return 0
	}
	x := a.Unmap()
	if !x.Is4() {
		return 0
	}
	b := x.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func family(v6 bool) int {
	if v6 {
		return 10 // AF_INET6
	}
	return 2 // AF_INET
}

func protoNumber(p string) int {
	switch strings.ToLower(p) {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "sctp":
		return 132
	}
	return 0
}
