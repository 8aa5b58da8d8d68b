package checks

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

type slapdPorts struct{ ldap, ldaps uint16 }

// startSlapd runs OpenLDAP's slapd (Debian slapd) on loopback with its own
// configuration and an mdb database holding dc=example,dc=org, whose
// administrator cn=admin,dc=example,dc=org has the password wonderland.
func startSlapd(t *testing.T) slapdPorts {
	t.Helper()
	slapd := need(t, "slapd", "slapd")
	slapadd := need(t, "slapd", "slapadd")
	if _, err := os.Stat("/etc/ldap/schema/core.schema"); err != nil {
		t.Fatalf("core.schema missing: install the Debian package slapd")
	}
	dir := shortTempDir(t, "ld")
	cert, key := writeSelfSigned(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "slapd.conf")
	writeFile(t, cfg, fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
database mdb
maxsize 10485760
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw wonderland
directory %[1]s/db
`, dir, cert, key))
	ldif := filepath.Join(dir, "data.ldif")
	writeFile(t, ldif, `dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people
`)
	runAs(t, "", slapadd, "-f", cfg, "-l", ldif)
	p := slapdPorts{freePort(t), freePort(t)}
	d := startDaemon(t, slapd, "-d", "0", "-f", cfg,
		"-h", fmt.Sprintf("ldap://127.0.0.1:%[1]d/ ldaps://127.0.0.1:%[2]d/ ldap://[::1]:%[1]d/ ldaps://[::1]:%[2]d/", p.ldap, p.ldaps))
	waitListening(t, d, 30*time.Second, loopback(p.ldap), loopback(p.ldaps))
	return p
}

// TestSlapd proves ldap and ldaps against a real slapd.
func TestSlapd(t *testing.T) {
	// Parallel with the other daemons: their start-ups overlap.
	t.Parallel()
	p := startSlapd(t)
	const timeout = 10 * time.Second
	anon := conf.Check{Request: "/dc=example,dc=org"}
	admin := conf.Check{Request: "/ou=people,dc=example,dc=org", Login: "cn=admin,dc=example,dc=org", Passwd: "wonderland"}
	cases := []portCase{
		{"anonymous", checkLDAP, p.ldap, anon, true, `found "dc=example,dc=org"`},
		{"admin", checkLDAP, p.ldap, admin, true, `found "ou=people,dc=example,dc=org"`},
		{"receive matches", checkLDAP, p.ldap, with(anon, func(c *conf.Check) { c.Receive = "^dc=example" }), true, "found"},
		{"receive differs", checkLDAP, p.ldap, with(anon, func(c *conf.Check) { c.Receive = "^ou=" }), false, `receive "^ou=" does not match DN "dc=example,dc=org"`},
		{"wrong passwd", checkLDAP, p.ldap, with(admin, func(c *conf.Check) { c.Passwd = "looking-glass" }), false, "bind failed: Invalid Credentials (49)"},
		{"missing entry", checkLDAP, p.ldap, with(anon, func(c *conf.Check) { c.Request = "/ou=nobody,dc=example,dc=org" }), false, "No Such Object (32)"},
		{"bad receive", checkLDAP, p.ldap, with(anon, func(c *conf.Check) { c.Receive = "(?<=x)" }), false, "not a regexp"},
		{"ldaps anonymous", checkLDAPS, p.ldaps, anon, true, `found "dc=example,dc=org"`},
		{"ldaps admin", checkLDAPS, p.ldaps, admin, true, "found"},
		{"ldaps wrong passwd", checkLDAPS, p.ldaps, with(admin, func(c *conf.Check) { c.Passwd = "looking-glass" }), false, "Invalid Credentials"},
		{"ldaps to plain port", checkLDAPS, p.ldap, anon, false, "TLS handshake"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := expect(t, tc.f, targetAt(loopback(tc.port), timeout, tc.check), tc.up, tc.reason)
			noSecrets(t, r, "looking-glass", "wonderland")
		})
	}
	t.Run("IPv6", func(t *testing.T) {
		for _, c := range []struct {
			f    Func
			port uint16
		}{{checkLDAP, p.ldap}, {checkLDAPS, p.ldaps}} {
			expect(t, c.f, targetAt(loopback6(c.port), timeout, admin), true, "found")
		}
	})
	t.Run("ldap to TLS port", func(t *testing.T) {
		expect(t, checkLDAP, targetAt(loopback(p.ldaps), testTimeout, anon), false, "bind failed")
	})
}

// TestLDAPFailures covers servers that are not LDAP or not there.
func TestLDAPFailures(t *testing.T) {
	t.Parallel()
	check := conf.Check{Request: "/dc=example,dc=org"}
	cases := []serverCase{
		{"never answers", silent, check, false, "bind failed: timeout after 1.5s waiting for the bind answer"},
		{"garbage", sayThenHold("\x30\x84\xff\xff\xff\xffgarbage"), check, false, "bind failed"},
		{"closes at once", func(net.Conn) {}, check, false, "bind failed"},
	}
	expectServers(t, checkLDAP, cases)
	expectRefused(t, checkLDAPS, check, "connect: connection refused")
}
