package conf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRejections: each bad input and its exact message.
func TestRejections(t *testing.T) {
	b := block
	v6 := func(lines ...string) string {
		return "virtual6 = [2001:db8::1]:80\n\treal6 = [2001:db8::2] gate\n" + indent(lines...)
	}
	cases := []struct{ src, want string }{
		// Global directives.
		{"checktimeout = yes\n", `test.cf:1: checktimeout: "yes" is not a positive number of seconds`},
		{"checktimeout = 0\n", `test.cf:1: checktimeout: "0" is not a positive number of seconds`},
		{"checktimeout = -3\n", `test.cf:1: checktimeout: "-3" is not a positive number of seconds`},
		{"checktimeout = 5s\n", `test.cf:1: checktimeout: "5s" is not a positive number of seconds`},
		{"checktimeout\n", `test.cf:1: checktimeout: has no '=': write "checktimeout = value"`},
		{"negotiatetimeout = x\n", `test.cf:1: negotiatetimeout: "x" is not a positive number of seconds`},
		{"checkinterval = 0\n", `test.cf:1: checkinterval: "0" is not a positive number of seconds`},
		{"checkcount = 0\n", `test.cf:1: checkcount: "0" is not a positive whole number`},
		{"failurecount = two\n", `test.cf:1: failurecount: "two" is not a positive whole number`},
		{"autoreload = true\n", `test.cf:1: autoreload: "true" is neither yes nor no`},
		{"callback = \n", `test.cf:1: callback: "" is empty: give the path of a program`},
		{"fallback = 127.0.0.1:80 nat\n", `test.cf:1: fallback: "nat" is not a forwarding method: gate, masq or ipip`},
		{"fallback = 127.0.0.1 gate extra\n", `test.cf:1: fallback: "127.0.0.1 gate extra" is not a fallback server: write address[:port] [gate|masq|ipip]`},
		{"fallback = nosuchhost\n", `test.cf:1: fallback: "nosuchhost" has host nosuchhost, which does not resolve to an IPv4 address (not found)`},
		{"fallback = 127.0.0.1:nosuchservice\n", `test.cf:1: fallback: "127.0.0.1:nosuchservice" has service nosuchservice, which is not in /etc/services`},
		{"fallback = 127.0.0.1->127.0.0.2\n", `test.cf:1: fallback: "127.0.0.1->127.0.0.2" is a range; a fallback is one server`},
		{"fallback6 = 127.0.0.1\n", `test.cf:1: fallback6: "127.0.0.1" is an IPv4 address: use fallback (IPv6 addresses go in brackets)`},
		{"fallback = [::1]:80\n", `test.cf:1: fallback: "[::1]:80" is an IPv6 address: use fallback6`},
		{"fallback6 = ::1\n", `test.cf:1: fallback6: "::1" has several ':': write an IPv6 address in brackets, as in [2001:db8::1]:80`},
		{"logfile = \"var/log/x\"\n", `test.cf:1: logfile: "var/log/x" is neither an absolute path nor a syslog facility (daemon, local0 ... local7, ...)`},
		{"emailalert = \"\"\n", `test.cf:1: emailalert: "" has no email address`},
		{"emailalert = , ,\n", `test.cf:1: emailalert: ", ," has no email address`},
		{"emailalertfrom =\n", `test.cf:1: emailalertfrom: "" has no email address`},
		{"emailalertfreq = -1\n", `test.cf:1: emailalertfreq: "-1" is not a number of seconds (0 or more)`},
		{"emailalertstatus = all,none\n", `test.cf:1: emailalertstatus: "all,none" lists none together with other states`},
		{"emailalertstatus = sometimes\n", `test.cf:1: emailalertstatus: "sometimes" is not an email alert status: all, none, starting, running, stopping or reloading, separated by commas`},
		{"emailalertstatus =\n", `test.cf:1: emailalertstatus: "" is not an email alert status: all, none, starting, running, stopping or reloading, separated by commas`},
		{"smtp = mail server\n", `test.cf:1: smtp: "mail server" is not an SMTP server: give a host name or an IPv4 address`},
		{"execute = \n", `test.cf:1: execute: "" is empty: give the name of a configuration`},
		{"supervised = maybe\n", `test.cf:1: supervised: "maybe" is neither yes nor no`},
		{"supervised maybe\n", `test.cf:1: supervised: has "maybe" after it: write "supervised = yes" or "supervised = no"`},
		{"fork = 1\n", `test.cf:1: fork: "1" is neither yes nor no`},
		{"quiescent = on\n", `test.cf:1: quiescent: "on" is neither yes nor no`},
		{"readdquiescent = off\n", `test.cf:1: readdquiescent: "off" is neither yes nor no`},
		{"cleanstop = y\n", `test.cf:1: cleanstop: "y" is neither yes nor no`},
		{"maintenancedir =\n", `test.cf:1: maintenancedir: "" is empty: give a directory`},
		{"connecttimeout = x\n", `test.cf:1: connecttimeout: "x" is not a positive number of seconds`},
		{"timeout = 5\n", `test.cf:1: timeout: is deprecated in favour of checktimeout and negotiatetimeout`},
		{"chektimeout = 5\n", `test.cf:1: chektimeout: is not a directive of ldirectord; did you mean checktimeout?`},
		{"frobnicate = 1\n", `test.cf:1: frobnicate: is not a directive of ldirectord`},
		{"Checktimeout = 5\n", `test.cf:1: Checktimeout: is not a directive of ldirectord; did you mean checktimeout?`},
		{"rise = 0\n", `test.cf:1: rise: "0" is not a number of good checks: a whole number from 1 (a single good check, as without rise) to 100`},
		{"rise = 2x\n", `test.cf:1: rise: "2x" is not a number of good checks: a whole number from 1 (a single good check, as without rise) to 100`},
		{"slowstart = 3601\n", `test.cf:1: slowstart: "3601" is not a slow start time: whole seconds from 0 (off) to 3600, written as 30, 30s or 2m`},
		{"slowstart = 500ms\n", `test.cf:1: slowstart: "500ms" is not a slow start time: whole seconds from 0 (off) to 3600, written as 30, 30s or 2m`},
		{"failopen = 0%\n", `test.cf:1: failopen: "0%" is not a share of the real servers: a whole number from 1 to 99 followed by %, as in 50% (failopen = off turns it off)`},
		{"failopen = 50 %\n", `test.cf:1: failopen: "50" is not a share of the real servers: a whole number from 1 to 99 followed by %, as in 50% (failopen = off turns it off)`},
		{"failopen = 50% 2h\n", `test.cf:1: failopen: "2h" is not a hold time: whole seconds from 1 to 3600, written as 300, 300s or 5m`},
		{"failopen =\n", `test.cf:1: failopen: "" is not a fail-open setting: write P% or P% HOLD, as in 50% or 50% 5m, or off`},
		{"flapdamping = 4/0\n", `test.cf:1: flapdamping: "0" is not a flap window: whole seconds from 1 to 3600, written as 60, 60s or 1m`},
		{"flapdamping = 3601/1h\n", `test.cf:1: flapdamping: "3601" is not a number of changes of state: a whole number from 1 to 3600`},
		{"flapdamping = 60s\n", `test.cf:1: flapdamping: "60s" is not a flap damping: write CHANGES/WINDOW, as in 4/60s, or off`},
		{"checkjitter = -1%\n", `test.cf:1: checkjitter: "-1%" is not a share of checkinterval: a whole number from 0 to 50 followed by %, as in 10%`},
		{"checkjitter = off\n", `test.cf:1: checkjitter: "off" is not a share of checkinterval: a whole number from 0 to 50 followed by %, as in 10%`},
		{"sharedchecks = maybe\n", `test.cf:1: sharedchecks: "maybe" is neither yes nor no`},
		{"virtual = 10.0.0.1:80\n\tsharedchecks = yes\n", `test.cf:2: sharedchecks: is a global directive: it is not valid inside a virtual block`},
		{"real = 10.0.0.2:80 gate\n", `test.cf:1: real: belongs in a virtual block: indent it under a virtual line`},
		{"checktype = connect\n", `test.cf:1: checktype: belongs in a virtual block: indent it under a virtual line`},
		{"  checktimeout = 5\n", `test.cf:1: checktimeout: is indented, but no virtual line comes before it: a virtual block starts with "virtual = address:port"`},
		{"\treal = 10.0.0.2 gate\n", `test.cf:1: real: is indented, but no virtual line comes before it: a virtual block starts with "virtual = address:port"`},
		{"virtual = 10.0.0.1:80\n\tautoreload = yes\n", `test.cf:2: autoreload: is a global directive: it is not valid inside a virtual block`},
		{"virtual = 10.0.0.1:80\n\tconnecttimeout = 5\n", `test.cf:2: connecttimeout: is deprecated in favour of negotiatetimeout`},
		{"virtual = 10.0.0.1:80\n\ttimeout = 5\n", `test.cf:2: timeout: is deprecated in favour of checktimeout and negotiatetimeout`},
		{"virtual = 10.0.0.1:80\n  real = 10.0.0.2 gate\n", `test.cf:2: real: is indented by 2 spaces: lines of a virtual block are indented by at least 4 spaces or a tab`},
		{"virtual = 10.0.0.1:80\n\tvirtual = 10.0.0.2:80\n", `test.cf:2: virtual: must start at the beginning of the line; a virtual block cannot be inside another`},

		// The virtual line.
		{"virtual = 0\n", `test.cf:1: virtual: "0" is not a firewall mark: a mark is a whole number from 1 to 4294967295`},
		{"virtual = 4294967296\n", `test.cf:1: virtual: "4294967296" is not a firewall mark: a mark is a whole number from 1 to 4294967295`},
		{"virtual = 10.0.0.1\n", `test.cf:1: virtual: "10.0.0.1" has no port: write address:port (a port number or a service name such as http), or a firewall mark`},
		{"virtual = 10.0.0.1:\n", `test.cf:1: virtual: "10.0.0.1:" has ':' without a port after it`},
		{"virtual = :80\n", `test.cf:1: virtual: ":80" has no address before the ':'`},
		{"virtual = 10.0.0.256:80\n", `test.cf:1: virtual: "10.0.0.256:80" has "10.0.0.256", which is not an IPv4 address`},
		{"virtual = 10.0.0.1:70000\n", `test.cf:1: virtual: "10.0.0.1:70000" has port 70000, which is above 65535`},
		{"virtual = 10.0.0.1:nosuch\n", `test.cf:1: virtual: "10.0.0.1:nosuch" has service nosuch, which is not in /etc/services`},
		{"virtual = nosuchhost:80\n", `test.cf:1: virtual: "nosuchhost:80" has host nosuchhost, which does not resolve to an IPv4 address (not found)`},
		{"virtual = [2001:db8::1]:80\n", `test.cf:1: virtual: "[2001:db8::1]:80" is an IPv6 address: use virtual6`},
		{"virtual6 = 10.0.0.1:80\n", `test.cf:1: virtual6: "10.0.0.1:80" is an IPv4 address: use virtual (IPv6 addresses go in brackets)`},
		{"virtual6 = [10.0.0.1]:80\n", `test.cf:1: virtual6: "[10.0.0.1]:80" has "10.0.0.1" in brackets, which is not an IPv6 address`},
		{"virtual6 = 2001:db8::1:80\n", `test.cf:1: virtual6: "2001:db8::1:80" has several ':': write an IPv6 address in brackets, as in [2001:db8::1]:80`},
		{"virtual6 = [2001:db8::1]80\n", `test.cf:1: virtual6: "[2001:db8::1]80" has "80" after the address where a ':port' may be`},
		{"virtual = v6only:80\n", `test.cf:1: virtual: "v6only:80" has host v6only, which does not resolve to an IPv4 address (not found)`},
		{"virtual = a b:80\n", `test.cf:1: virtual: "a b:80" has "a b", which is neither an address nor a host name`},
		{"virtual\n", `test.cf:1: virtual: has no '=': write "virtual = address:port"`},
		{"virtual = 10.0.0.1:80\nvirtual = 10.0.0.1:http\n", `test.cf:2: virtual: "10.0.0.1:http" is the virtual service tcp:10.0.0.1:80 again, as on line 1`},
		{"virtual = 5\nvirtual6 = 5\nvirtual = 5\n", `test.cf:3: virtual: "5" is the virtual service fwm:5 again, as on line 1`},

		// Inside a block.
		{b("checktype = sometimes"), `test.cf:3: checktype: "sometimes" is not a check type: connect, external, external-perl, negotiate, off, on, ping or a number of connect checks above 0`},
		{b("checktype = 0"), `test.cf:3: checktype: "0" is not a check type: connect, external, external-perl, negotiate, off, on, ping or a number of connect checks above 0`},
		{b("service = gopher"), `test.cf:3: service: "gopher" is not a service: dns, ftp, http, https, http_proxy, imap, imaps, ldap, ldaps, mysql, nntp, none, oracle, pgsql, pop, pops, radius, simpletcp, sip, smtp or submission`},
		{b(`checkcommand = ""`), `test.cf:3: checkcommand: "" is empty: give the command to run`},
		{b("checkport = 0"), `test.cf:3: checkport: "0" is not a port: a whole number from 1 to 65535`},
		{b("checkport = 65536"), `test.cf:3: checkport: "65536" is not a port: a whole number from 1 to 65535`},
		{b("checkport = http"), `test.cf:3: checkport: "http" is not a port: a whole number from 1 to 65535`},
		{b(`request = ""`), `test.cf:3: request: "" is empty: give what the check asks for`},
		{b(`receive = ""`), `test.cf:3: receive: "" is empty: leave receive out to accept any answer`},
		{b("httpmethod = POST"), `test.cf:3: httpmethod: "POST" is not an HTTP method: GET or HEAD`},
		{b("virtualhost ="), `test.cf:3: virtualhost: "" is empty: give the Host header to send`},
		{b(`login = ""`), `test.cf:3: login: "" is empty: leave login out for none`},
		{b("passwd ="), `test.cf:3: passwd: "" is empty: leave passwd out for none`},
		{b("database ="), `test.cf:3: database: "" is empty: give the name of a database`},
		{b("secret ="), `test.cf:3: secret: "" is empty: give the RADIUS secret`},
		{b("scheduler = WRR"), `test.cf:3: scheduler: "WRR" is not a scheduler name: lowercase letters, at most 15, such as rr, wrr, lc, wlc, sh, mh`},
		{b("scheduler = averyveryverylongname"), `test.cf:3: scheduler: "averyveryverylongname" is not a scheduler name: lowercase letters, at most 15, such as rr, wrr, lc, wlc, sh, mh`},
		{b("schedflags = sh-port,bogus"), `test.cf:3: schedflags: "bogus" is not a scheduler flag: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2 or flag-3, separated by commas`},
		{b("persistent = 0"), `test.cf:3: persistent: "0" is not a persistence timeout: a whole number of seconds from 1 to 2678400 (31 days)`},
		{b("persistent = 2678401"), `test.cf:3: persistent: "2678401" is not a persistence timeout: a whole number of seconds from 1 to 2678400 (31 days)`},
		{b("persistent = 10m"), `test.cf:3: persistent: "10m" is not a persistence timeout: a whole number of seconds from 1 to 2678400 (31 days)`},
		{b("netmask = 255.0.255.0"), `test.cf:3: netmask: "255.0.255.0" is not an IPv4 netmask: a dotted quad such as 255.255.255.0`},
		{b("netmask = 24"), `test.cf:3: netmask: "24" is not an IPv4 netmask: a dotted quad such as 255.255.255.0`},
		{v6("netmask = 255.255.255.0"), `test.cf:3: netmask: "255.255.255.0" is not an IPv6 netmask: a prefix length from 1 to 128`},
		{v6("netmask = 129"), `test.cf:3: netmask: "129" is not an IPv6 netmask: a prefix length from 1 to 128`},
		{b("protocol = sctp"), `test.cf:3: protocol: "sctp" is not a protocol: tcp, udp or fwm`},
		{b("protocol = fwm"), `test.cf:3: protocol: "fwm" is only for a firewall-mark virtual service (virtual = N): this one has an address, so tcp or udp`},
		{"virtual = 5\n\tprotocol = tcp\n", `test.cf:2: protocol: "tcp" does not fit a firewall-mark virtual service: its protocol is fwm`},
		{b("ops = yes"), `test.cf:3: ops: "yes" is only for UDP virtual services; this one is tcp`},
		{"virtual = 5\n\tops = yes\n", `test.cf:2: ops: "yes" is only for UDP virtual services; this one is fwm`},
		{b("ops = maybe"), `test.cf:3: ops: "maybe" is neither yes nor no`},
		{b(`monitorfile = ""`), `test.cf:3: monitorfile: "" is empty: give the path of a file`},
		{b(`load = "a b"`), `test.cf:3: load: "a b" is not a word of letters, digits and '_'`},
		{b("real6 = [2001:db8::2] gate"), `test.cf:3: real6: cannot be used in a virtual block: use real`},
		{"virtual6 = [2001:db8::1]:80\n\treal = 10.0.0.2 gate\n", `test.cf:2: real: cannot be used in a virtual6 block: use real6`},
		{b("fallback6 = [::1]"), `test.cf:3: fallback6: cannot be used in a virtual block: use fallback`},
		{"virtual6 = [2001:db8::1]:80\n\tfallback = 127.0.0.1\n", `test.cf:2: fallback: cannot be used in a virtual6 block: use fallback6`},
		{b("fallback = 127.0.0.1:nosuch"), `test.cf:3: fallback: "127.0.0.1:nosuch" has service nosuch, which is not in /etc/services for tcp`},

		// Real lines.
		{b("real = 10.0.0.3:80 gatee"), `test.cf:3: real: "gatee" is not a forwarding method: gate, masq or ipip`},
		{b("real = 10.0.0.3:80"), `test.cf:3: real: "10.0.0.3:80" has no forwarding method after the address: gate, masq or ipip`},
		{b("real ="), `test.cf:3: real: "" does not start with an address: write address[:port] gate|masq|ipip [weight]`},
		{b("real = 10.0.0.3:80 masq 70000"), `test.cf:3: real: "70000" is not a weight: a whole number from 0 to 65535`},
		{b(`real = 10.0.0.3:80 masq 1 "/only"`), `test.cf:3: real: "/only" is a request without a receive: give both, quoted, as in "/", "OK"`},
		{b(`real = 10.0.0.3:80 masq 1 "", "x"`), `test.cf:3: real: "" is an empty request`},
		{b(`real = 10.0.0.3:80 masq 1 "/a", "b" extra`), `test.cf:3: real: "extra" is not understood here: after the forwarding method come [weight] ["request", "receive"] [<l:N>] [<u:N>]`},
		{b(`real = 10.0.0.3:80 masq 1 "/a`), `test.cf:3: real: "\"/a" is not closed by a matching quote, or has text glued to it`},
		{b("real = 10.0.0.3:80 masq 1 <l:5> <l:6>"), `test.cf:3: real: "<l:6>" repeats a connection threshold`},
		{b("real = 10.0.0.3:80 masq 1 l:50 u:5"), `test.cf:3: real: "10.0.0.3:80 masq 1 l:50 u:5" has a lower threshold (50) above the upper one (5)`},
		{b("real = 10.0.0.3:80 masq 1 l:99999999999"), `test.cf:3: real: "l:99999999999" is not a connection threshold: a whole number up to 4294967295`},
		{b("real = 10.0.0.5->10.0.0.3:80 gate"), `test.cf:3: real: "10.0.0.5->10.0.0.3:80" is a range that runs backwards, from 10.0.0.5 down to 10.0.0.3`},
		{b("real = 10.0.0.3:80->10.0.0.5 gate"), `test.cf:3: real: "10.0.0.3:80->10.0.0.5" has a port before '->': the port goes after the end of the range`},
		{b("real = 10.0.0.0->10.1.0.1 gate"), `test.cf:3: real: "10.0.0.0->10.1.0.1" is a range of 65538 addresses; a configuration may have at most 65536 real servers`},
		{b("real = nosuchhost:80 gate"), `test.cf:3: real: "nosuchhost:80" has host nosuchhost, which does not resolve to an IPv4 address (not found)`},
		{b("real = 10.0.0.3:nosuch gate"), `test.cf:3: real: "10.0.0.3:nosuch" has service nosuch, which is not in /etc/services`},
		{b("real = 10.0.0.2:80 masq"), `test.cf:3: real: "10.0.0.2:80" repeats real server 10.0.0.2:80 of line 2`},
		{b("real = 10.0.0.2->10.0.0.3:80 masq"), `test.cf:3: real: "10.0.0.2->10.0.0.3:80" repeats real server 10.0.0.2:80 of line 2`},
		{v6("real6 = [2001:db8::3]->[2001:db8::5] gate"), `test.cf:3: real6: "[2001:db8::3]->[2001:db8::5]" is a range of IPv6 addresses, which ldirectord does not support`},
		{b(`real = "10.0.0.3" gate`), `test.cf:3: real: "\"10.0.0.3\" gate" does not start with an address: write address[:port] gate|masq|ipip [weight]`},
		{b("real = 192.168.6.2::5060 gate"), `test.cf:3: real: "192.168.6.2::5060" has several ':': write an IPv6 address in brackets, as in [2001:db8::1]:80`},
		// An http_proxy check that can never pass.
		{b("service = http_proxy", `request = "/health"`), `test.cf:4: request: "/health" is not an absolute URL: http_proxy fetches a page through the real server, such as http://www.example.com/health`},
		{b("service = http_proxy", `request = "www.example.com/health"`), `test.cf:4: request: "www.example.com/health" is not an absolute URL: http_proxy fetches a page through the real server, such as http://www.example.com/health`},
		{b("service = http_proxy", `request = "ftp://www.example.com/"`), `test.cf:4: request: "ftp://www.example.com/" is not an absolute URL: http_proxy fetches a page through the real server, such as http://www.example.com/health`},
		{b("service = http_proxy", `request = "http://www.example.com/"`, `real = 10.0.0.3:3128 gate "/health", "ok"`), `test.cf:5: real: "/health" is not an absolute URL: http_proxy fetches a page through the real server, such as http://www.example.com/health`},
		{b("real = 10.0.0.3:80 masq\t\"a\"b"), `test.cf:3: real: "b" is not closed by a matching quote, or has text glued to it`},
	}
	for _, tc := range cases {
		got := errorLines(t, tc.src)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

// TestAllErrorsTogether: several errors in one file come out together, in
// line order, and no config with them.
func TestAllErrorsTogether(t *testing.T) {
	src := "virtual = 10.0.0.1:80\n\treal = 10.0.0.2 gate\n\tservice = bogus\n\tchecktimeout = x\n" +
		"checktimeout = y\nvirtual = bad\n\treal = 10.0.0.2 gatee\n\tscheduler = X\n" +
		"virtual = 10.0.0.1:443\n\treal = nosuchhost gate\n"
	got := errorLines(t, src)
	want := []string{
		`test.cf:3: service: "bogus" is not a service: dns, ftp, http, https, http_proxy, imap, imaps, ldap, ldaps, mysql, nntp, none, oracle, pgsql, pop, pops, radius, simpletcp, sip, smtp or submission`,
		`test.cf:4: checktimeout: "x" is not a positive number of seconds`,
		`test.cf:5: checktimeout: "y" is not a positive number of seconds`,
		`test.cf:6: virtual: "bad" has no port: write address:port (a port number or a service name such as http), or a firewall mark`,
		`test.cf:7: real: "gatee" is not a forwarding method: gate, masq or ipip`,
		`test.cf:8: scheduler: "X" is not a scheduler name: lowercase letters, at most 15, such as rr, wrr, lc, wlc, sh, mh`,
		`test.cf:10: real: "nosuchhost" has host nosuchhost, which does not resolve to an IPv4 address (not found)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	_, err := parse(src)
	var e *Error
	if !errors.As(err, &e) || e.Line != 3 || e.Directive != "service" {
		t.Errorf("errors.As finds %+v", e)
	}
}

// TestLoadErrors: a missing file is an error naming it.
func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.cf"))
	if err == nil || !strings.Contains(err.Error(), "none.cf: cannot read the configuration") {
		t.Errorf("Load of a missing file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "ok.cf")
	if err := os.WriteFile(p, []byte("virtual = 10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil || cfg.File != p || cfg.Name != "ok.cf" {
		t.Errorf("Load: %v %+v", err, cfg)
	}
	cfg, err = Options{Name: "ldirectord"}.Load(p)
	if err != nil || cfg.Name != "ldirectord" {
		t.Errorf("Load with a name: %v %+v", err, cfg)
	}
}

// TestRealServerCap: ranges cannot make a configuration larger than the cap.
func TestRealServerCap(t *testing.T) {
	o := testOptions
	o.maxReals = 3
	_, err := o.Parse("test.cf", []byte("virtual = 10.0.0.1:80\n\treal = 10.0.0.1->10.0.0.2 gate\n\treal = 10.0.0.3->10.0.0.4 gate\n\treal = 10.0.0.5->10.0.0.9 gate\n"))
	want := "test.cf:3: real: \"10.0.0.3->10.0.0.4\" brings the configuration above 3 real servers\n" +
		"test.cf:4: real: \"10.0.0.5->10.0.0.9\" is a range of 5 addresses; a configuration may have at most 3 real servers"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
