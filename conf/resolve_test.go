package conf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestNetResolver resolves through the system: /etc/hosts for localhost and
// /etc/services for http.
func TestNetResolver(t *testing.T) {
	r := NetResolver{Timeout: 3 * time.Second}
	addrs, err := r.LookupHost(context.Background(), "localhost", false)
	if err != nil || len(addrs) == 0 || !addrs[0].IsLoopback() || !addrs[0].Is4() {
		t.Fatalf("localhost: %v %v", addrs, err)
	}
	for _, tc := range []struct {
		service, proto string
		want           int
	}{{"http", "tcp", 80}, {"https", "", 443}, {"domain", "udp", 53}, {"ftp", "", 21}} {
		if got, err := r.LookupPort(context.Background(), tc.service, tc.proto); err != nil || got != tc.want {
			t.Errorf("LookupPort(%q, %q) = %d, %v; want %d", tc.service, tc.proto, got, err, tc.want)
		}
	}
	if _, err := r.LookupPort(context.Background(), "no-such-service-here", ""); err == nil {
		t.Errorf("an unknown service resolved")
	}
}

// TestParseWithTheSystemResolver reads host and service names the way an
// operator writes them, with nothing injected.
func TestParseWithTheSystemResolver(t *testing.T) {
	cfg, err := Options{Hostname: "h"}.Parse("sys.cf", []byte(
		"fallback = localhost:http\n"+
			"virtual = localhost:http\n\treal = localhost:https masq\n\treal = 127.0.0.2:www gate\n"+
			"virtual = 127.0.0.1:domain\n\treal = localhost:domain gate\n"))
	if err != nil {
		t.Fatal(err)
	}
	v := cfg.Virtuals[0]
	if v.ID != "tcp:127.0.0.1:80" || v.Check.Service != "http" {
		t.Errorf("virtual %s service %s", v.ID, v.Check.Service)
	}
	if v.Reals[0].ID != "127.0.0.1:443" || v.Reals[1].ID != "127.0.0.2:80" {
		t.Errorf("reals %s %s", v.Reals[0].ID, v.Reals[1].ID)
	}
	if fb := cfg.Global.Defaults.Fallback; fb.Addr != netip.MustParseAddr("127.0.0.1") || fb.Port != 80 {
		t.Errorf("fallback %+v", fb)
	}
	if d := cfg.Virtuals[1]; d.ID != "udp:127.0.0.1:53" || d.Check.Service != "dns" {
		t.Errorf("dns virtual %s service %s", d.ID, d.Check.Service)
	}

	_, err = Options{Resolver: NetResolver{Timeout: 3 * time.Second}}.Parse("sys.cf", []byte(
		"virtual = no-such-host.invalid:80\n\treal = 127.0.0.1:no-such-service gate\n"))
	if err == nil || !strings.Contains(err.Error(), `sys.cf:1: virtual: "no-such-host.invalid:80" has host no-such-host.invalid, which does not resolve to an IPv4 address`) ||
		!strings.Contains(err.Error(), `sys.cf:2: real: "127.0.0.1:no-such-service" has service no-such-service, which is not in /etc/services`) {
		t.Errorf("unresolvable names: %v", err)
	}
}

// countingResolver counts the questions a parse asks.
type countingResolver struct {
	StaticResolver
	hosts, ports int
}

func (c *countingResolver) LookupHost(ctx context.Context, host string, ipv6 bool) ([]netip.Addr, error) {
	c.hosts++
	return c.StaticResolver.LookupHost(ctx, host, ipv6)
}

func (c *countingResolver) LookupPort(ctx context.Context, service, protocol string) (int, error) {
	c.ports++
	return c.StaticResolver.LookupPort(ctx, service, protocol)
}

// TestLookupsOnce: a name used on many lines is asked for once.
func TestLookupsOnce(t *testing.T) {
	r := &countingResolver{StaticResolver: testResolver}
	src := "virtual = web1:http\n\treal = web1:http gate\n\tfallback = web1:http\n" +
		"virtual = web1:8080\n\treal = web1:http masq\n\treal = nosuch gate\n\treal = nosuch:80 gate\n"
	_, err := Options{Resolver: r}.Parse("test.cf", []byte(src))
	if err == nil || strings.Count(err.Error(), "nosuch") != 4 {
		t.Errorf("errors: %v", err)
	}
	if r.hosts != 2 || r.ports != 2 {
		t.Errorf("%d host and %d port lookups; want 2 (web1, nosuch) and 2 (http for tcp, http for either)", r.hosts, r.ports)
	}
}
