package checks

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// dnsmasq starts an authoritative-only dnsmasq on 127.0.0.1 and ::1 (UDP
// and TCP) that knows www.example.test and its PTR, v6only.example.test
// (AAAA only), alias.example.test (a CNAME of v6only) and
// dangling.example.test (a CNAME of a name without addresses), and returns
// its port.
func dnsmasq(t *testing.T) uint16 {
	t.Helper()
	dir := shortTempDir(t, "dn")
	port := freePort(t)
	cfg := filepath.Join(dir, "dnsmasq.conf")
	writeFile(t, cfg, strings.NewReplacer("PORT", strconv.Itoa(int(port))).Replace(`port=PORT
listen-address=127.0.0.1
listen-address=::1
bind-interfaces
no-resolv
no-hosts
no-poll
user=root
pid-file=
host-record=www.example.test,192.0.2.7
host-record=www.example.test,192.0.2.8
ptr-record=7.2.0.192.in-addr.arpa,www.example.test
host-record=v6only.example.test,2001:db8::7
cname=alias.example.test,v6only.example.test
cname=dangling.example.test,nowhere.example.test
local=/example.test/
`))
	d := startDaemon(t, need(t, "dnsmasq-base", "dnsmasq"), "-k", "-C", cfg)
	d.stop = syscall.SIGKILL
	waitListening(t, d, 30*time.Second, loopback(port))
	return port
}

func dnsTarget(addr netip.AddrPort, proto conf.Protocol, request, receive string) Target {
	tg := negotiate(addr, "dns", request, receive)
	tg.Protocol = proto
	return tg
}

func TestDNS(t *testing.T) {
	t.Parallel()
	port := dnsmasq(t)
	v4, v6 := loopback(port), loopback6(port)
	never := serveUDP(t, "udp4", func([]byte) []byte { return nil })
	junk := serveUDP(t, "udp4", func(q []byte) []byte {
		// The query's ID, then bytes that are no DNS message.
		return append(q[:2:2], "\x81\x80\xff\xff garbage"...)
	})
	cases := []struct {
		name   string
		tg     Target
		up     bool
		reason string
	}{
		{"A over UDP", dnsTarget(v4, conf.UDP, "/www.example.test", `^192\.0\.2\.8$`), true, "A www.example.test.: 192.0.2.8 matches"},
		{"A over TCP", dnsTarget(v4, conf.TCP, "www.example.test", "192.0.2.7"), true, "192.0.2.7 matches"},
		{"A over UDP ipv6", dnsTarget(v6, conf.UDP, "www.example.test", "192.0.2"), true, "matches receive /192.0.2/"},
		{"A over TCP ipv6", dnsTarget(v6, conf.TCP, "www.example.test", "192.0.2"), true, "matches"},
		{"PTR", dnsTarget(v4, conf.UDP, "/192.0.2.7", "www.example"), true, "PTR 7.2.0.192.in-addr.arpa.: www.example.test matches"},
		{"wrong answer", dnsTarget(v4, conf.UDP, "www.example.test", "10.0.0.1"), false, "A/AAAA www.example.test.: answer 192.0.2."}, // in dnsmasq's rotating order
		{"AAAA of a name without A", dnsTarget(v4, conf.UDP, "v6only.example.test", "^2001:db8::7$"), true, "AAAA v6only.example.test.: 2001:db8::7 matches"},
		{"AAAA over TCP ipv6", dnsTarget(v6, conf.TCP, "v6only.example.test", "2001:db8"), true, "AAAA v6only.example.test.: 2001:db8::7 matches"},
		{"no receive, AAAA only", dnsTarget(v6, conf.UDP, "v6only.example.test", ""), true, "AAAA v6only.example.test.: 2001:db8::7"},
		{"alias of an AAAA name", dnsTarget(v4, conf.UDP, "alias.example.test", "2001"), true, "AAAA alias.example.test.: 2001:db8::7 matches"},
		{"alias with no address", dnsTarget(v4, conf.UDP, "dangling.example.test", ""), false, "A/AAAA dangling.example.test.: only an alias (CNAME) of nowhere.example.test., with no address"},
		{"no receive accepts any address", dnsTarget(v4, conf.UDP, "www.example.test", ""), true, "A www.example.test.: 192.0.2."},
		{"no receive, PTR", dnsTarget(v4, conf.TCP, "192.0.2.7", ""), true, "PTR 7.2.0.192.in-addr.arpa.: www.example.test"},
		{"no receive, unknown name", dnsTarget(v4, conf.UDP, "nx.example.test", ""), false, "A nx.example.test.: NXDOMAIN"},
		{"unknown name", dnsTarget(v4, conf.UDP, "nx.example.test", "."), false, "A nx.example.test.: NXDOMAIN"},
		{"refused udp", dnsTarget(refused(t, "tcp4"), conf.UDP, "www.example.test", "."), false, "connection refused"},
		{"refused tcp ipv6", dnsTarget(refused(t, "tcp6"), conf.TCP, "www.example.test", "."), false, "connection refused"},
		{"never answers", dnsTarget(never, conf.UDP, "www.example.test", "."), false, "timeout after 2s waiting for DNS answer to A www.example.test."},
		{"tcp never answers", dnsTarget(serve(t, "tcp4", silent), conf.TCP, "www.example.test", "."), false, "timeout after 2s"},
		{"garbage", dnsTarget(junk, conf.UDP, "www.example.test", "."), false, "A www.example.test.: bad question name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, c.tg, c.up, c.reason)
		})
	}
}
