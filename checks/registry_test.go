package checks

import (
	"net/netip"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// TestRegistryMatchesConf: every service that service = accepts has a
// check, and the registry checks no service that conf would refuse.
func TestRegistryMatchesConf(t *testing.T) {
	t.Parallel()
	for _, s := range conf.Services() {
		if services[s] == nil {
			t.Errorf("conf knows service %q, the registry has no check for it", s)
		}
	}
	for s := range services {
		if !conf.IsService(s) {
			t.Errorf("the registry checks service %q, which conf does not know", s)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	addr := netip.MustParseAddrPort("192.0.2.1:8080")
	udp := target(addr, conf.CheckConnect, "")
	udp.Protocol = conf.UDP
	noPort := negotiate(netip.AddrPortFrom(addr.Addr(), 0), "https", "/", "")
	for _, c := range []struct {
		tg   Target
		want string
	}{
		{negotiate(addr, "http", "/health", ""), "negotiate http port 8080"},
		{negotiate(addr, "http", "http://www.example.com:81/health", ""), "negotiate http www.example.com:81"},
		{negotiate(addr, "https", "https://www.example.com/", ""), "negotiate https www.example.com:443"},
		{negotiate(addr, "http_proxy", "http://www.example.com/", ""), "negotiate http_proxy port 8080"},
		{noPort, "negotiate https port 443"},
		{target(addr, conf.CheckConnect, ""), "connect port 8080"},
		{udp, "ping"},
		{target(addr, conf.CheckPing, ""), "ping"},
	} {
		if got := Describe(c.tg); got != c.want {
			t.Errorf("Describe(%s %s %q) = %q, want %q", c.tg.Check.Type, c.tg.Check.Service, c.tg.Check.Request, got, c.want)
		}
	}
}
