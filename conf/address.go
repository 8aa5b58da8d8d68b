package conf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// hostSpec is a host as written: an IPv4 address, a host name, or an IPv6
// address in brackets (bracketed is then true and text is without them).
type hostSpec struct {
	text      string
	bracketed bool
}

func (h hostSpec) String() string {
	if h.bracketed {
		return "[" + h.text + "]"
	}
	return h.text
}

// splitHostPort cuts "host[:port]" where host may be "[v6]". It fails on an
// IPv6 address without brackets, which cannot be told from a port.
func splitHostPort(s string) (h hostSpec, port string, hasPort bool, msg string) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return h, "", false, "has '[' without ']'"
		}
		h = hostSpec{text: s[1:end], bracketed: true}
		rest := s[end+1:]
		switch {
		case rest == "":
			return h, "", false, ""
		case rest[0] == ':':
			return h, rest[1:], true, ""
		default:
			return h, "", false, fmt.Sprintf("has %q after the address where a ':port' may be", rest)
		}
	}
	switch strings.Count(s, ":") {
	case 0:
		return hostSpec{text: s}, "", false, ""
	case 1:
		i := strings.IndexByte(s, ':')
		return hostSpec{text: s[:i]}, s[i+1:], true, ""
	default:
		return h, "", false, "has several ':': write an IPv6 address in brackets, as in [2001:db8::1]:80"
	}
}

// isHostName reports whether s may be a host name: letters, digits, '.', '-'
// and '_', as ldirectord's patterns allow.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isDottedDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return strings.Contains(s, ".")
}

func family(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

// resolveHost turns a host into one address of the family asked for. The
// message says what is wrong, to follow the quoted value.
func (p *parser) resolveHost(h hostSpec, ipv6 bool, use string) (netip.Addr, string) {
	if h.bracketed {
		a, err := netip.ParseAddr(h.text)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, fmt.Sprintf("has %q in brackets, which is not an IPv6 address", h.text)
		}
		if !ipv6 {
			return netip.Addr{}, "is an IPv6 address: use " + use + "6"
		}
		return a, ""
	}
	if isDottedDigits(h.text) {
		a, err := netip.ParseAddr(h.text)
		if err != nil || !a.Is4() {
			return netip.Addr{}, fmt.Sprintf("has %q, which is not an IPv4 address", h.text)
		}
		if ipv6 {
			return netip.Addr{}, "is an IPv4 address: use " + use + " (IPv6 addresses go in brackets)"
		}
		return a, ""
	}
	if !isHostName(h.text) {
		return netip.Addr{}, fmt.Sprintf("has %q, which is neither an address nor a host name", h.text)
	}
	if a, err := netip.ParseAddr(h.text); err == nil && a.Is6() {
		return netip.Addr{}, "has an IPv6 address without brackets: write it as [" + h.text + "]"
	}
	key := lookupKey{h.text, family(ipv6)}
	if r, ok := p.hosts[key]; ok {
		return r.addr, r.msg
	}
	var r hostAnswer
	addrs, err := p.res.LookupHost(p.ctx, h.text, ipv6)
	if err != nil || len(addrs) == 0 {
		why := "no address"
		if err != nil {
			why = err.Error()
		}
		r.msg = fmt.Sprintf("has host %s, which does not resolve to an %s address (%s)", h.text, family(ipv6), why)
	} else {
		r.addr = addrs[0].Unmap()
	}
	p.hosts[key] = r
	return r.addr, r.msg
}

// lookupKey and the answers below let a parse ask the resolver once per
// name, however many lines use it.
type lookupKey struct{ name, kind string }

type hostAnswer struct {
	addr netip.Addr
	msg  string
}

type portAnswer struct {
	port uint16
	msg  string
}

// resolvePort turns a port number or service name into a port, looking the
// name up for protocol ("tcp", "udp" or "" for either).
func (p *parser) resolvePort(s, protocol string) (uint16, string) {
	if isDigits(s) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return 0, fmt.Sprintf("has port %s, which is above 65535", s)
		}
		return uint16(n), ""
	}
	if s == "" {
		return 0, "has ':' without a port after it"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return 0, fmt.Sprintf("has %q, which is neither a port number nor a service name", s)
		}
	}
	key := lookupKey{s, protocol}
	if r, ok := p.ports[key]; ok {
		return r.port, r.msg
	}
	var r portAnswer
	n, err := p.res.LookupPort(p.ctx, s, protocol)
	if err != nil || n < 0 || n > 65535 {
		where := "/etc/services"
		if protocol != "" {
			where += " for " + protocol
		}
		r.msg = fmt.Sprintf("has service %s, which is not in %s", s, where)
	} else {
		r.port = uint16(n)
	}
	p.ports[key] = r
	return r.port, r.msg
}

// addrPort prints an address and port as ldirectord does: [v6]:port.
func addrPort(a netip.Addr, port uint16) string {
	return netip.AddrPortFrom(a, port).String()
}

// ipv4Range lists the addresses from first to last inclusive.
func ipv4Range(first, last netip.Addr, limit int) ([]netip.Addr, string) {
	f, l := v4int(first), v4int(last)
	if f > l {
		return nil, fmt.Sprintf("is a range that runs backwards, from %s down to %s", first, last)
	}
	if n := l - f + 1; n > uint64(limit) {
		return nil, fmt.Sprintf("is a range of %d addresses; a configuration may have at most %d real servers", n, limit)
	}
	out := make([]netip.Addr, 0, l-f+1)
	for i := f; i <= l; i++ {
		out = append(out, netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	return out, ""
}

func v4int(a netip.Addr) uint64 {
	b := a.As4()
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}
