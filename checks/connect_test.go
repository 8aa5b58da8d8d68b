package checks

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

func TestConnect(t *testing.T) {
	t.Parallel()
	open4 := serve(t, "tcp4", func(c net.Conn) { _ = c.Close() })
	open6 := serve(t, "tcp6", func(c net.Conn) { _ = c.Close() })
	cases := []struct {
		name   string
		addr   netip.AddrPort
		up     bool
		reason string
	}{
		{"listening", open4, true, "connected"},
		{"listening ipv6", open6, true, "connected"},
		{"refused", refused(t, "tcp4"), false, "connect: connection refused"},
		{"refused ipv6", refused(t, "tcp6"), false, "connect: connection refused"},
		{"syn dropped", blackhole(t), false, "timeout after 2s connecting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, target(c.addr, conf.CheckConnect, ""), c.up, c.reason)
		})
	}
}

// TestNotContacted covers the check types and services that judge
// without contacting the server: the address refuses connections.
func TestNotContacted(t *testing.T) {
	t.Parallel()
	addr := refused(t, "tcp4")
	cases := []struct {
		typ     conf.CheckType
		service string
		up      bool
		reason  string
	}{
		// On and off are not checks: the caller decides them without
		// Run, so Run knows them no better than any other word.
		{conf.CheckOn, "http", false, `unknown checktype "on"`},
		{conf.CheckOff, "http", false, `unknown checktype "off"`},
		{"bogus", "", false, `unknown checktype "bogus"`},
		{conf.CheckNegotiate, "gopher", false, `unknown service "gopher"`},
		{conf.CheckNegotiate, "none", true, "service none"},
		// An empty service is none, as ldirectord's default for other ports.
		{conf.CheckNegotiate, "", true, "service none"},
	}
	for _, c := range cases {
		t.Run(string(c.typ)+" "+c.service, func(t *testing.T) {
			t.Parallel()
			expect(t, Run, target(addr, c.typ, c.service), c.up, c.reason)
		})
	}
}

func TestServicesSorted(t *testing.T) {
	t.Parallel()
	s := Services()
	if len(s) == 0 {
		t.Fatal("Services() is empty")
	}
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			t.Fatalf("Services() not sorted: %v", s)
		}
	}
	// Every service of ldirectord(8), and no other.
	want := "dns ftp http http_proxy https imap imaps ldap ldaps mysql nntp none oracle pgsql pop pops radius simpletcp sip smtp submission"
	if got := strings.Join(s, " "); got != want {
		t.Fatalf("Services() = %s\nwant          %s", got, want)
	}
}
