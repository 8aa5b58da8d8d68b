package checks

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ldirectord-go/ldirectord/conf"
)

// checkDNS asks the real server, as a recursive resolver, for the A
// records of the request, or for the PTR record when the request is an
// address. It is up when an address or a PTR name matches receive, as in
// ldirectord, or, without receive, when there is one. A name with no A
// record that matches is asked for its AAAA records too: the record type
// is a property of the name, not of how the real server is reached, so an
// IPv6 real of an IPv4-only name is judged as an IPv4 one is. It speaks
// TCP when the virtual service is TCP, else UDP (falling back to TCP for
// a truncated answer).
func checkDNS(ctx context.Context, t Target) Result {
	receive, err := regexp.Compile(t.Check.Receive)
	if err != nil {
		return down(fmt.Sprintf("receive %q is not a valid regexp: %v", t.Check.Receive, err))
	}
	name := strings.TrimPrefix(t.Check.Request, "/")
	if _, err := netip.ParseAddr(name); err == nil {
		rev, _ := dns.ReverseAddr(name)
		return askDNS(ctx, t, receive, rev, dns.TypePTR).verdict(t)
	}
	a := askDNS(ctx, t, receive, dns.Fqdn(name), dns.TypeA)
	if a.done {
		return a.verdict(t)
	}
	aaaa := askDNS(ctx, t, receive, dns.Fqdn(name), dns.TypeAAAA)
	if aaaa.done {
		return aaaa.verdict(t)
	}
	// Neither type matched: say what both answered.
	a.got = append(a.got, aaaa.got...)
	a.alias = cmp.Or(a.alias, aaaa.alias)
	a.question = "A/AAAA " + dns.Fqdn(name)
	return a.verdict(t)
}

// dnsAnswer is what one question to the real server came to. done means
// the verdict is known (a match, or an error that a second question would
// not change); otherwise got holds the answer's addresses or names, none of
// them matching, and alias the name a CNAME-only answer points to.
type dnsAnswer struct {
	question string
	done     bool
	result   Result
	got      []string
	alias    string
}

func askDNS(ctx context.Context, t Target, receive *regexp.Regexp, name string, qtype uint16) dnsAnswer {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	network := "udp"
	if t.Protocol == conf.TCP {
		network = "tcp"
	}
	resp, err := exchange(ctx, network, m, hostPort(t))
	if err == nil && resp.Truncated && network == "udp" {
		resp, err = exchange(ctx, "tcp", m, hostPort(t))
	}
	ans := dnsAnswer{question: dns.TypeToString[qtype] + " " + name}
	if err != nil {
		r := failure(ctx, t, "waiting for DNS answer to "+ans.question, err)
		if !strings.HasPrefix(r.Reason, "timeout") {
			r.Reason = ans.question + ": " + r.Reason
		}
		return dnsAnswer{question: ans.question, done: true, result: r}
	}
	if resp.Rcode != dns.RcodeSuccess {
		// NXDOMAIN holds for every type; a failure would not mend.
		return dnsAnswer{question: ans.question, done: true, result: down(fmt.Sprintf("%s: %s", ans.question, dns.RcodeToString[resp.Rcode]))}
	}
	for _, rr := range resp.Answer {
		var got string
		switch rr := rr.(type) {
		case *dns.A:
			got = rr.A.String()
		case *dns.AAAA:
			got = rr.AAAA.String()
		case *dns.PTR:
			got = strings.TrimSuffix(rr.Ptr, ".")
		case *dns.CNAME:
			ans.alias = cmp.Or(ans.alias, rr.Target)
			continue
		default:
			continue
		}
		if t.Check.Receive == "" {
			ans.done, ans.result = true, up(fmt.Sprintf("%s: %s", ans.question, got))
			return ans
		}
		if perlMatch(receive, []byte(got)) {
			ans.done, ans.result = true, up(fmt.Sprintf("%s: %s matches receive /%s/", ans.question, got, t.Check.Receive))
			return ans
		}
		ans.got = append(ans.got, got)
	}
	return ans
}

// verdict is the result of a question that is done, else the down verdict
// on what it got.
func (a dnsAnswer) verdict(t Target) Result {
	switch {
	case a.done:
		return a.result
	case len(a.got) > 0:
		return down(fmt.Sprintf("%s: answer %s does not match receive /%s/", a.question, strings.Join(a.got, " "), t.Check.Receive))
	case a.alias != "":
		return down(fmt.Sprintf("%s: only an alias (CNAME) of %s, with no address", a.question, a.alias))
	}
	return down(fmt.Sprintf("%s: no answer", a.question))
}

// exchange sends m over a connection of our own, which a canceled check
// closes at once: the library alone only heeds the deadline.
func exchange(ctx context.Context, network string, m *dns.Msg, addr string) (*dns.Msg, error) {
	conn, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	c := &dns.Client{Net: network}
	if dl, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(dl)
	}
	resp, _, err := c.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: conn})
	return resp, err
}
