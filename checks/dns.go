package checks

import (
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
// address. It is up when an A address or a PTR name matches receive, as in
// ldirectord, or, without receive, when there is one (Perl's is then
// always down, which no operator asks for). It speaks TCP when the
// virtual service is TCP, else UDP (falling back to TCP for a truncated
// answer).
func checkDNS(ctx context.Context, t Target) Result {
	receive, err := regexp.Compile(t.Check.Receive)
	if err != nil {
		return down(fmt.Sprintf("receive %q is not a valid regexp: %v", t.Check.Receive, err))
	}
	name := strings.TrimPrefix(t.Check.Request, "/")
	m := new(dns.Msg)
	if _, err := netip.ParseAddr(name); err == nil {
		rev, _ := dns.ReverseAddr(name)
		m.SetQuestion(rev, dns.TypePTR)
	} else {
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	}
	network := "udp"
	if t.Protocol == conf.TCP {
		network = "tcp"
	}
	resp, err := exchange(ctx, network, m, hostPort(t))
	if err == nil && resp.Truncated && network == "udp" {
		resp, err = exchange(ctx, "tcp", m, hostPort(t))
	}
	question := dns.TypeToString[m.Question[0].Qtype] + " " + m.Question[0].Name
	if err != nil {
		r := failure(ctx, t, "waiting for DNS answer to "+question, err)
		if !strings.HasPrefix(r.Reason, "timeout") {
			r.Reason = question + ": " + r.Reason
		}
		return r
	}
	if resp.Rcode != dns.RcodeSuccess {
		return down(fmt.Sprintf("%s: %s", question, dns.RcodeToString[resp.Rcode]))
	}
	var seen []string
	for _, rr := range resp.Answer {
		var got string
		switch rr := rr.(type) {
		case *dns.A:
			got = rr.A.String()
		case *dns.PTR:
			got = strings.TrimSuffix(rr.Ptr, ".")
		default:
			continue
		}
		if t.Check.Receive == "" {
			return up(fmt.Sprintf("%s: %s", question, got))
		}
		if perlMatch(receive, []byte(got)) {
			return up(fmt.Sprintf("%s: %s matches receive /%s/", question, got, t.Check.Receive))
		}
		seen = append(seen, got)
	}
	if len(seen) == 0 {
		return down(fmt.Sprintf("%s: no answer", question))
	}
	return down(fmt.Sprintf("%s: answer %s does not match receive /%s/", question, strings.Join(seen, " "), t.Check.Receive))
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
