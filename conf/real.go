package conf

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// realSpec is a real line as written, resolved when its block ends.
type realSpec struct {
	line      int
	directive string
	addr      string // the address word, for messages
	first     hostSpec
	last      *hostSpec // the end of a range, nil for one server
	port      string
	hasPort   bool
	method    Forward
	weight    int
	hasPair   bool // a request and receive of its own
	request   string
	receive   string
	lower     uint32
	upper     uint32
}

// fallbackSpec is a fallback line as written.
type fallbackSpec struct {
	line      int
	directive string
	addr      string
	host      hostSpec
	port      string
	hasPort   bool
	method    Forward
}

func forward(s string) (Forward, bool) {
	switch f := Forward(s); f {
	case Gate, Masq, IPIP:
		return f, true
	}
	return "", false
}

// threshold matches the connection thresholds of a real line. The page
// writes them "<l:N>" and "<u:N>"; the Perl ldirectord reads l:N and u:N
// (and takes a quoted "<l:N>" "<u:N>" for a request and receive, which is
// plainly not what the page means). All three spellings are accepted.
var threshold = regexp.MustCompile(`^<?([lu]):([0-9]+)>?$`)

// applyReal reads "real = host[->host][:port] method [weight] ["request",
// "receive"] [<l:N>] [<u:N>]".
func applyReal(p *parser, l srcLine, _ *draft, vd *vdraft) {
	want := "real"
	if vd.ipv6 {
		want = "real6"
	}
	if l.name != want {
		p.errorf(l.num, l.name, "cannot be used in a %s block: use %s", virtualDirective(vd.ipv6), want)
		return
	}
	toks, rest := tokens(l.value)
	if rest != "" {
		p.bad(l, rest, "is not closed by a matching quote, or has text glued to it")
		return
	}
	if len(toks) == 0 || toks[0].quoted || toks[0].comma {
		p.bad(l, l.value, "does not start with an address: write address[:port] gate|masq|ipip [weight]")
		return
	}
	rs := &realSpec{line: l.num, directive: l.name, addr: toks[0].text, weight: 1}
	if msg := rs.parseAddr(toks[0].text); msg != "" {
		p.bad(l, toks[0].text, msg)
		return
	}
	if len(toks) < 2 || toks[1].quoted || toks[1].comma {
		p.bad(l, l.value, "has no forwarding method after the address: gate, masq or ipip")
		return
	}
	f, ok := forward(toks[1].text)
	if !ok {
		p.bad(l, toks[1].text, "is not a forwarding method: gate, masq or ipip")
		return
	}
	rs.method = f
	toks = toks[2:]
	if len(toks) > 0 && !toks[0].quoted && isDigits(toks[0].text) {
		n, err := strconv.ParseUint(toks[0].text, 10, 16)
		if err != nil {
			p.bad(l, toks[0].text, "is not a weight: a whole number from 0 to 65535")
			return
		}
		rs.weight = int(n)
		toks = toks[1:]
	}
	if len(toks) > 0 && toks[0].quoted && !threshold.MatchString(toks[0].text) {
		// A request and a receive, with an optional comma between.
		rs.request = toks[0].text
		toks = toks[1:]
		if len(toks) > 0 && toks[0].comma {
			toks = toks[1:]
		}
		if len(toks) == 0 || !toks[0].quoted {
			p.bad(l, rs.request, "is a request without a receive: give both, quoted, as in \"/\", \"OK\"")
			return
		}
		rs.receive = toks[0].text
		rs.hasPair = true
		if rs.request == "" {
			p.bad(l, rs.request, "is an empty request")
			return
		}
		toks = toks[1:]
	}
	var seen [2]bool
	for _, t := range toks {
		m := threshold.FindStringSubmatch(t.text)
		if m == nil || t.comma {
			p.bad(l, t.text, "is not understood here: after the forwarding method come [weight] [\"request\", \"receive\"] [<l:N>] [<u:N>]")
			return
		}
		n, err := strconv.ParseUint(m[2], 10, 32)
		if err != nil {
			p.bad(l, t.text, "is not a connection threshold: a whole number up to 4294967295")
			return
		}
		i := 0
		if m[1] == "u" {
			i = 1
		}
		if seen[i] {
			p.bad(l, t.text, "repeats a connection threshold")
			return
		}
		seen[i] = true
		if i == 0 {
			rs.lower = uint32(n)
		} else {
			rs.upper = uint32(n)
		}
	}
	if rs.upper > 0 && rs.lower > rs.upper {
		p.bad(l, l.value, fmt.Sprintf("has a lower threshold (%d) above the upper one (%d)", rs.lower, rs.upper))
		return
	}
	vd.reals = append(vd.reals, rs)
}

// parseAddr cuts "host[->host][:port]".
func (rs *realSpec) parseAddr(s string) string {
	first, last, isRange := strings.Cut(s, "->")
	h, port, hasPort, msg := splitHostPort(first)
	if msg != "" {
		return msg
	}
	if h.text == "" {
		return "has no address"
	}
	rs.first = h
	if isRange {
		if hasPort {
			return "has a port before '->': the port goes after the end of the range"
		}
		h2, port2, hasPort2, msg := splitHostPort(last)
		if msg != "" {
			return msg
		}
		if h2.text == "" {
			return "has no address after '->'"
		}
		rs.last = &h2
		port, hasPort = port2, hasPort2
	}
	rs.port, rs.hasPort = port, hasPort
	return ""
}

// resolveReals turns the real lines of a virtual into real servers.
func (p *parser) resolveReals(vd *vdraft, v *Virtual) {
	seen := map[RealID]int{}
	for _, rs := range vd.reals {
		l := srcLine{num: rs.line, name: rs.directive}
		var port uint16
		if rs.hasPort {
			var msg string
			if port, msg = p.resolvePort(rs.port, ""); msg != "" {
				p.bad(l, rs.addr, msg)
				continue
			}
		}
		first, msg := p.resolveHost(rs.first, vd.ipv6, "real")
		if msg != "" {
			p.bad(l, rs.addr, msg)
			continue
		}
		addrs := []netip.Addr{first}
		if rs.last != nil {
			last, msg := p.resolveHost(*rs.last, vd.ipv6, "real")
			if msg == "" && vd.ipv6 {
				msg = "is a range of IPv6 addresses, which ldirectord does not support"
			}
			if msg == "" {
				addrs, msg = ipv4Range(first, last, p.maxReals)
			}
			if msg != "" {
				p.bad(l, rs.addr, msg)
				continue
			}
		}
		if p.nreals+len(addrs) > p.maxReals {
			p.bad(l, rs.addr, fmt.Sprintf("brings the configuration above %d real servers", p.maxReals))
			continue
		}
		p.nreals += len(addrs)
		for _, a := range addrs {
			r := &Real{
				ID: RealID(addrPort(a, port)), Line: rs.line, Addr: a, Port: port,
				Method: rs.method, Weight: rs.weight, Lower: rs.lower, Upper: rs.upper,
				Request: v.Check.Request, Receive: v.Check.Receive,
			}
			if rs.hasPair {
				r.Request = normalizeRequest(v.Check.Service, rs.request)
				r.Receive = rs.receive
			}
			if prev, dup := seen[r.ID]; dup {
				p.bad(l, rs.addr, fmt.Sprintf("repeats real server %s of line %d", r.ID, prev))
				continue
			}
			seen[r.ID] = rs.line
			v.Reals = append(v.Reals, r)
		}
	}
}

// applyFallback reads "fallback = host[:port] [gate|masq|ipip]" and its IPv6
// twin, at the global level or in a block.
func applyFallback(p *parser, l srcLine, d *draft, vd *vdraft) {
	ipv6 := l.name == "fallback6"
	if vd != nil && vd.ipv6 != ipv6 {
		want := "fallback"
		if vd.ipv6 {
			want = "fallback6"
		}
		p.errorf(l.num, l.name, "cannot be used in a %s block: use %s", virtualDirective(vd.ipv6), want)
		return
	}
	toks, rest := tokens(unquote(l.value))
	if rest != "" {
		p.bad(l, rest, "is not closed by a matching quote, or has text glued to it")
		return
	}
	if len(toks) == 0 || len(toks) > 2 || toks[0].quoted || toks[0].comma {
		p.bad(l, l.value, "is not a fallback server: write address[:port] [gate|masq|ipip]")
		return
	}
	fs := &fallbackSpec{line: l.num, directive: l.name, addr: toks[0].text, method: Gate}
	h, port, hasPort, msg := splitHostPort(toks[0].text)
	if msg == "" && h.text == "" {
		msg = "has no address"
	}
	if msg == "" && strings.Contains(toks[0].text, "->") {
		msg = "is a range; a fallback is one server"
	}
	if msg != "" {
		p.bad(l, toks[0].text, msg)
		return
	}
	fs.host, fs.port, fs.hasPort = h, port, hasPort
	if len(toks) == 2 {
		f, ok := forward(toks[1].text)
		if !ok || toks[1].quoted || toks[1].comma {
			p.bad(l, toks[1].text, "is not a forwarding method: gate, masq or ipip")
			return
		}
		fs.method = f
	}
	i := 0
	if ipv6 {
		i = 1
	}
	d.fallback[i] = fs
}

// resolveFallback turns a fallback line into a server. Without a port it
// takes defPort: the virtual's port in a block, 0 ("the virtual's") globally.
func (p *parser) resolveFallback(fs *fallbackSpec, ipv6 bool, protocol string, defPort uint16) *Real {
	l := srcLine{num: fs.line, name: fs.directive}
	a, msg := p.resolveHost(fs.host, ipv6, "fallback")
	if msg != "" {
		p.bad(l, fs.addr, msg)
		return nil
	}
	port := defPort
	if fs.hasPort {
		if protocol == string(FWM) {
			protocol = ""
		}
		if port, msg = p.resolvePort(fs.port, protocol); msg != "" {
			p.bad(l, fs.addr, msg)
			return nil
		}
	}
	return &Real{ID: RealID(addrPort(a, port)), Line: fs.line, Addr: a, Port: port, Method: fs.method, Weight: 1}
}
