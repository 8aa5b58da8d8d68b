package checks

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// dnsmasq starts an authoritative-only dnsmasq on 127.0.0.1 and ::1 (UDP
// and TCP) that knows www.example.test and its PTR, and returns its port.
func dnsmasq(t *testing.T) int {
	t.Helper()
	dir := openDir(t)
	port := loopbackPort(t)
	cfg := filepath.Join(dir, "dnsmasq.conf")
	putFile(t, cfg, strings.NewReplacer("PORT", strconv.Itoa(port)).Replace(`port=PORT
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
local=/example.test/
`))
	runDaemon(t, "dnsmasq-base", "dnsmasq", "-k", "-C", cfg)
	waitTCP(t, "127.0.0.1:"+strconv.Itoa(port))
	return port
}

// serveUDP answers every datagram to a new loopback UDP socket with what
// answer returns (nothing when it returns nil).
func serveUDP(t *testing.T, answer func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if a := answer(buf[:n]); a != nil {
				_, _ = pc.WriteTo(a, from)
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); wg.Wait() })
	return pc.LocalAddr().String()
}

func dnsTarget(t *testing.T, addr string, proto conf.Protocol, request, receive string) Target {
	tg := target(t, addr, conf.CheckNegotiate, "dns")
	tg.Protocol, tg.Check.Request, tg.Check.Receive = proto, request, receive
	return tg
}

func TestDNS(t *testing.T) {
	t.Parallel()
	port := strconv.Itoa(dnsmasq(t))
	v4, v6 := "127.0.0.1:"+port, "[::1]:"+port
	never := serveUDP(t, func([]byte) []byte { return nil })
	junk := serveUDP(t, func(q []byte) []byte {
		// The query's ID, then bytes that are no DNS message.
		return append(q[:2:2], "\x81\x80\xff\xff garbage"...)
	})
	cases := []struct {
		name   string
		tg     Target
		up     bool
		reason string
	}{
		{"A over UDP", dnsTarget(t, v4, conf.UDP, "/www.example.test", `^192\.0\.2\.8$`), true, "A www.example.test.: 192.0.2.8 matches"},
		{"A over TCP", dnsTarget(t, v4, conf.TCP, "www.example.test", "192.0.2.7"), true, "192.0.2.7 matches"},
		{"A over UDP ipv6", dnsTarget(t, v6, conf.UDP, "www.example.test", "192.0.2"), true, "matches receive /192.0.2/"},
		{"A over TCP ipv6", dnsTarget(t, v6, conf.TCP, "www.example.test", "192.0.2"), true, "matches"},
		{"PTR", dnsTarget(t, v4, conf.UDP, "/192.0.2.7", "www.example"), true, "PTR 7.2.0.192.in-addr.arpa.: www.example.test matches"},
		{"wrong answer", dnsTarget(t, v4, conf.UDP, "www.example.test", "10.0.0.1"), false, "does not match receive /10.0.0.1/"},
		{"empty receive never matches", dnsTarget(t, v4, conf.UDP, "www.example.test", ""), false, "does not match receive //"},
		{"unknown name", dnsTarget(t, v4, conf.UDP, "nx.example.test", "."), false, "A nx.example.test.: NXDOMAIN"},
		{"refused udp", dnsTarget(t, refused(t, "tcp4"), conf.UDP, "www.example.test", "."), false, "connection refused"},
		{"refused tcp ipv6", dnsTarget(t, refused(t, "tcp6"), conf.TCP, "www.example.test", "."), false, "connection refused"},
		{"never answers", dnsTarget(t, never, conf.UDP, "www.example.test", "."), false, "timeout after 2s waiting for DNS answer to A www.example.test."},
		{"tcp never answers", dnsTarget(t, mute(t, "tcp4"), conf.TCP, "www.example.test", "."), false, "timeout after 2s"},
		{"garbage", dnsTarget(t, junk, conf.UDP, "www.example.test", "."), false, "A www.example.test.: bad question name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, c.tg, c.up, c.reason)
		})
	}
}
