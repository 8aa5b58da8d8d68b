package conf

import (
	"net/netip"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestGlobalDirectives covers each global directive's accepted forms.
func TestGlobalDirectives(t *testing.T) {
	g := func(c *Config) *Global { return &c.Global }
	d := func(c *Config) *Settings { return &c.Global.Defaults }
	fb := func(a string, port uint16, m Forward) *Real {
		ad := netip.MustParseAddr(a)
		return &Real{ID: RealID(addrPort(ad, port)), Line: 1, Addr: ad, Port: port, Method: m, Weight: 1}
	}
	cases := []struct {
		name string
		src  string
		get  func(*Config) any
		want any
	}{
		{"checktimeout", "checktimeout = 7", func(c *Config) any { return d(c).CheckTimeout }, 7 * time.Second},
		{"checktimeout no spaces", "checktimeout=7", func(c *Config) any { return d(c).CheckTimeout }, 7 * time.Second},
		{"checktimeout tabs and comment", "checktimeout\t=\t7\t# seconds", func(c *Config) any { return d(c).CheckTimeout }, 7 * time.Second},
		{"checktimeout quoted", `checktimeout = "7"`, func(c *Config) any { return d(c).CheckTimeout }, 7 * time.Second},
		{"negotiatetimeout", "negotiatetimeout = 12", func(c *Config) any { return d(c).NegotiateTimeout }, 12 * time.Second},
		{"checkinterval", "checkinterval = 2", func(c *Config) any { return d(c).CheckInterval }, 2 * time.Second},
		{"checkcount", "checkcount = 3", func(c *Config) any { return d(c).CheckCount }, 3},
		{"failurecount", "failurecount = 4", func(c *Config) any { return d(c).FailureCount }, 4},
		{"autoreload yes", "autoreload = yes", func(c *Config) any { return g(c).AutoReload }, true},
		{"autoreload no", "autoreload = no", func(c *Config) any { return g(c).AutoReload }, false},
		{"callback quoted", `callback = "/usr/local/bin/sync cf"`, func(c *Config) any { return g(c).Callback }, "/usr/local/bin/sync cf"},
		{"callback bare", `callback = /usr/local/bin/sync`, func(c *Config) any { return g(c).Callback }, "/usr/local/bin/sync"},
		{"fallback", "fallback = 127.0.0.1:80", func(c *Config) any { return d(c).Fallback }, fb("127.0.0.1", 80, Gate)},
		{"fallback no port", "fallback = 127.0.0.1", func(c *Config) any { return d(c).Fallback }, fb("127.0.0.1", 0, Gate)},
		{"fallback masq", "fallback = 127.0.0.1:http masq", func(c *Config) any { return d(c).Fallback }, fb("127.0.0.1", 80, Masq)},
		{"fallback host", "fallback = localhost:80 ipip", func(c *Config) any { return d(c).Fallback }, fb("127.0.0.1", 80, IPIP)},
		{"fallback6", "fallback6 = [::1]:80", func(c *Config) any { return d(c).Fallback6 }, fb("::1", 80, Gate)},
		{"fallback6 host", "fallback6 = localhost gate", func(c *Config) any { return d(c).Fallback6 }, fb("::1", 0, Gate)},
		{"fallbackcommand", `fallbackcommand = "/bin/fb arg"`, func(c *Config) any { return d(c).FallbackCommand }, "/bin/fb arg"},
		{"logfile path", `logfile = "/var/log/ld.log"`, func(c *Config) any { return g(c).LogFile }, "/var/log/ld.log"},
		{"logfile facility", `logfile = "local0"`, func(c *Config) any { return g(c).LogFile }, "local0"},
		{"logfile facility bare", `logfile = daemon`, func(c *Config) any { return g(c).LogFile }, "daemon"},
		{"emailalert", `emailalert = "a@x.y"`, func(c *Config) any { return d(c).EmailAlert }, []string{"a@x.y"}},
		{"emailalert list", `emailalert = "a@x.y, b@x.y,c@x.y"`, func(c *Config) any { return d(c).EmailAlert }, []string{"a@x.y", "b@x.y", "c@x.y"}},
		{"emailalertfrom", `emailalertfrom = "ldirectord Alerts" <alerts@example.com>`, func(c *Config) any { return d(c).EmailAlertFrom }, `"ldirectord Alerts" <alerts@example.com>`},
		{"emailalertfrom keeps quotes", `emailalertfrom = "a@b"`, func(c *Config) any { return d(c).EmailAlertFrom }, `"a@b"`},
		{"emailalertfreq", "emailalertfreq = 3600", func(c *Config) any { return d(c).EmailAlertFreq }, time.Hour},
		{"emailalertfreq zero", "emailalertfreq = 0", func(c *Config) any { return d(c).EmailAlertFreq }, time.Duration(0)},
		{"emailalertstatus all", "emailalertstatus = all", func(c *Config) any { return d(c).EmailAlertStatus }, []string{"starting", "running", "stopping", "reloading"}},
		{"emailalertstatus none", "emailalertstatus = none", func(c *Config) any { return d(c).EmailAlertStatus }, []string{"none"}},
		{"emailalertstatus list", "emailalertstatus = reloading, starting", func(c *Config) any { return d(c).EmailAlertStatus }, []string{"starting", "reloading"}},
		{"smtp", "smtp = mail.example", func(c *Config) any { return d(c).SMTP }, "mail.example"},
		{"smtp address", "smtp = 192.0.2.25", func(c *Config) any { return d(c).SMTP }, "192.0.2.25"},
		{"execute", "execute = other.cf\nexecute = \"third.cf\"\nexecute = other.cf", func(c *Config) any { return g(c).Execute }, []string{"other.cf", "third.cf"}},
		{"supervised bare", "supervised", func(c *Config) any { return g(c).Supervised }, true},
		{"supervised yes", "supervised = yes", func(c *Config) any { return g(c).Supervised }, true},
		{"supervised no", "supervised = no", func(c *Config) any { return g(c).Supervised }, false},
		{"fork", "fork = yes", func(c *Config) any { return g(c).Fork }, true},
		{"quiescent", "quiescent = yes", func(c *Config) any { return d(c).Quiescent }, true},
		{"readdquiescent", "readdquiescent = yes", func(c *Config) any { return d(c).ReaddQuiescent }, true},
		{"cleanstop", "cleanstop = no", func(c *Config) any { return d(c).Cleanstop }, false},
		{"maintenancedir", "maintenancedir = /etc/ha.d/maint", func(c *Config) any { return g(c).MaintenanceDir }, "/etc/ha.d/maint"},
		{"connecttimeout", "connecttimeout = 4", func(c *Config) any { return g(c).ConnectTimeout }, 4 * time.Second},
		{"later value wins", "checktimeout = 7\nchecktimeout = 8", func(c *Config) any { return d(c).CheckTimeout }, 8 * time.Second},
		{"CRLF line ends", "checktimeout = 7\r\nquiescent = yes\r\n", func(c *Config) any { return d(c).Quiescent }, true},
		{"comment lines", "# a comment\n   # indented comment\n\nchecktimeout = 9 # trailing", func(c *Config) any { return d(c).CheckTimeout }, 9 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.src+"\n")
			got := tc.get(cfg)
			if r, ok := got.(*Real); ok && r != nil {
				r.Line = 1 // the fixture does not track lines
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestVirtualDirectives covers each directive of a virtual block.
func TestVirtualDirectives(t *testing.T) {
	v := func(c *Config) *Virtual { return c.Virtuals[0] }
	ck := func(c *Config) *Check { return &c.Virtuals[0].Check }
	cases := []struct {
		name  string
		lines []string
		get   func(*Config) any
		want  any
	}{
		{"checktype connect", []string{"checktype = connect"}, func(c *Config) any { return ck(c).Type }, CheckConnect},
		{"checktype external", []string{"checktype = external"}, func(c *Config) any { return ck(c).Type }, CheckExternal},
		{"checktype external-perl", []string{"checktype = external-perl"}, func(c *Config) any { return ck(c).Type }, CheckExternalPerl},
		{"checktype negotiate", []string{"checktype = negotiate"}, func(c *Config) any { return ck(c).Type }, CheckNegotiate},
		{"checktype off", []string{"checktype = off"}, func(c *Config) any { return ck(c).Type }, CheckOff},
		{"checktype on", []string{"checktype = on"}, func(c *Config) any { return ck(c).Type }, CheckOn},
		{"checktype ping", []string{"checktype = ping"}, func(c *Config) any { return ck(c).Type }, CheckPing},
		{"checktype N", []string{"checktype = 5"}, func(c *Config) any { return [2]any{ck(c).Type, ck(c).ConnectsBeforeNegotiate} }, [2]any{CheckCombined, 5}},
		{"checktype checktimeoutN", []string{"checktype = checktimeout3"}, func(c *Config) any { return [2]any{ck(c).Type, ck(c).ConnectsBeforeNegotiate} }, [2]any{CheckCombined, 3}},
		{"service", []string{"service = https"}, func(c *Config) any { return ck(c).Service }, "https"},
		{"service http_proxy", []string{"service = http_proxy"}, func(c *Config) any { return ck(c).Service }, "http_proxy"},
		{"checkcommand quoted", []string{`checkcommand = "/usr/lib/check --x"`}, func(c *Config) any { return ck(c).Command }, "/usr/lib/check --x"},
		{"checkcommand bare", []string{`checkcommand = /usr/lib/check`}, func(c *Config) any { return ck(c).Command }, "/usr/lib/check"},
		{"checkport", []string{"checkport = 8080"}, func(c *Config) any { return ck(c).Port }, uint16(8080)},
		{"request gets its slash for http", []string{`request = "index.html"`}, func(c *Config) any { return ck(c).Request }, "/index.html"},
		{"request keeps an absolute URL", []string{`request = "http://www.x.y/a"`}, func(c *Config) any { return ck(c).Request }, "http://www.x.y/a"},
		{"request as written for dns", []string{"service = dns", `request = "x.y.z"`}, func(c *Config) any { return ck(c).Request }, "x.y.z"},
		{"request single quotes", []string{`request = 'say "hi"'`, "service = simpletcp"}, func(c *Config) any { return ck(c).Request }, `say "hi"`},
		{"request with hash inside quotes", []string{`request = "/a#b" # comment`}, func(c *Config) any { return ck(c).Request }, "/a#b"},
		{"receive", []string{`receive = "Test Page"`}, func(c *Config) any { return ck(c).Receive }, "Test Page"},
		{"httpmethod", []string{"httpmethod = head"}, func(c *Config) any { return ck(c).HTTPMethod }, "HEAD"},
		{"virtualhost", []string{"virtualhost = www.x.y.z"}, func(c *Config) any { return ck(c).VirtualHost }, "www.x.y.z"},
		{"virtualhost quoted", []string{`virtualhost = "www.x.y.z"`}, func(c *Config) any { return ck(c).VirtualHost }, "www.x.y.z"},
		{"login", []string{`login = "reader"`}, func(c *Config) any { return ck(c).Login }, "reader"},
		{"passwd", []string{`passwd = "s3cret"`}, func(c *Config) any { return ck(c).Passwd }, "s3cret"},
		{"database", []string{`database = "portal"`}, func(c *Config) any { return ck(c).Database }, "portal"},
		{"secret", []string{`secret = "radius"`}, func(c *Config) any { return ck(c).Secret }, "radius"},
		{"scheduler", []string{"scheduler = wlc"}, func(c *Config) any { return v(c).Scheduler }, "wlc"},
		{"schedflags", []string{"scheduler = sh", "schedflags = sh-port,sh-fallback,sh-port"}, func(c *Config) any { return v(c).SchedFlags }, []string{"sh-port", "sh-fallback"}},
		{"schedflags flag-3", []string{"schedflags = flag-3"}, func(c *Config) any { return v(c).SchedFlags }, []string{"flag-3"}},
		{"persistent", []string{"persistent = 600"}, func(c *Config) any { return v(c).Persistent }, 600 * time.Second},
		{"netmask", []string{"netmask = 255.255.255.0"}, func(c *Config) any { return v(c).NetmaskBits }, 24},
		{"netmask zero", []string{"netmask = 0.0.0.0"}, func(c *Config) any { return v(c).NetmaskBits }, 0},
		{"protocol udp", []string{"protocol = udp"}, func(c *Config) any { return v(c).Protocol }, UDP},
		{"protocol tcp", []string{"protocol = tcp"}, func(c *Config) any { return v(c).Protocol }, TCP},
		{"monitorfile", []string{`monitorfile = "/var/log/ld-web.log"`}, func(c *Config) any { return v(c).MonitorFile }, "/var/log/ld-web.log"},
		{"ops on udp", []string{"protocol = udp", "ops = yes"}, func(c *Config) any { return v(c).OPS }, true},
		{"ops no on tcp", []string{"ops = no"}, func(c *Config) any { return v(c).OPS }, false},
		{"servicename", []string{"servicename = Web Site"}, func(c *Config) any { return v(c).ServiceName }, "Web Site"},
		{"servicename apostrophe", []string{"servicename = Don't # x"}, func(c *Config) any { return v(c).ServiceName }, "Don't"},
		{"comment", []string{"comment = Test load balanced web site"}, func(c *Config) any { return v(c).Comment }, "Test load balanced web site"},
		{"load", []string{`load = "cpu"`}, func(c *Config) any { return v(c).Load }, "cpu"},
		{"spaces instead of a tab", []string{"    scheduler = lc"}, func(c *Config) any { return v(c).Scheduler }, "lc"},
		{"blank line inside a block", []string{"", "scheduler = lc"}, func(c *Config) any { return v(c).Scheduler }, "lc"},
		{"unindented comment inside a block", []string{"scheduler = lc"}, func(c *Config) any { return v(c).Scheduler }, "lc"},
		// Per-virtual overrides of the global settings.
		{"checktimeout", []string{"checktimeout = 2"}, func(c *Config) any { return v(c).Settings.CheckTimeout }, 2 * time.Second},
		{"negotiatetimeout", []string{"negotiatetimeout = 9"}, func(c *Config) any { return v(c).Settings.NegotiateTimeout }, 9 * time.Second},
		{"checkcount", []string{"checkcount = 2"}, func(c *Config) any { return v(c).Settings.CheckCount }, 2},
		{"failurecount", []string{"failurecount = 3"}, func(c *Config) any { return v(c).Settings.FailureCount }, 3},
		{"quiescent", []string{"quiescent = yes"}, func(c *Config) any { return v(c).Settings.Quiescent }, true},
		{"readdquiescent", []string{"readdquiescent = yes"}, func(c *Config) any { return v(c).Settings.ReaddQuiescent }, true},
		{"cleanstop", []string{"cleanstop = no"}, func(c *Config) any { return v(c).Settings.Cleanstop }, false},
		{"fallbackcommand", []string{"fallbackcommand = /bin/fb"}, func(c *Config) any { return v(c).Settings.FallbackCommand }, "/bin/fb"},
		{"emailalert", []string{`emailalert = "ops@x.y"`}, func(c *Config) any { return v(c).Settings.EmailAlert }, []string{"ops@x.y"}},
		{"emailalertfrom", []string{`emailalertfrom = lb@x.y`}, func(c *Config) any { return v(c).Settings.EmailAlertFrom }, "lb@x.y"},
		{"emailalertfreq", []string{"emailalertfreq = 60"}, func(c *Config) any { return v(c).Settings.EmailAlertFreq }, time.Minute},
		{"emailalertstatus", []string{"emailalertstatus = starting,stopping"}, func(c *Config) any { return v(c).Settings.EmailAlertStatus }, []string{"starting", "stopping"}},
		{"smtp", []string{"smtp = mail.example"}, func(c *Config) any { return v(c).Settings.SMTP }, "mail.example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := block(tc.lines...)
			if tc.name == "unindented comment inside a block" {
				src = "virtual = 10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n# a comment at column 0\n\tscheduler = lc\n"
			}
			cfg := mustParse(t, src)
			if got := tc.get(cfg); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestDefaults checks every default of a minimal file.
func TestDefaults(t *testing.T) {
	cfg := mustParse(t, "virtual = 10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n")
	g := cfg.Global
	wantDefaults := Settings{
		CheckTimeout: 5 * time.Second, NegotiateTimeout: 30 * time.Second,
		CheckInterval: 10 * time.Second, CheckCount: 1, FailureCount: 1,
		Cleanstop: true, EmailAlertStatus: []string{"starting", "running", "stopping", "reloading"},
	}
	if !reflect.DeepEqual(g.Defaults, wantDefaults) {
		t.Errorf("global defaults:\n got %+v\nwant %+v", g.Defaults, wantDefaults)
	}
	if g.LogFile != "/var/log/ldirectord.log" || g.AutoReload || g.Supervised || g.Fork || g.Callback != "" || g.MaintenanceDir != "" || g.Execute != nil {
		t.Errorf("global: %+v", g)
	}
	if cfg.Name != "test.cf" || cfg.File != "test.cf" {
		t.Errorf("name %q file %q", cfg.Name, cfg.File)
	}
	v := cfg.Virtuals[0]
	want := &Virtual{
		ID: "tcp:10.0.0.1:80", Line: 1, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Protocol: TCP,
		Scheduler: "wrr", NetmaskBits: 32,
		Check:    Check{Type: CheckNegotiate, Service: "http", Command: "/bin/true", Request: "/", HTTPMethod: "GET"},
		Settings: wantDefaults,
		Reals:    []*Real{{ID: "10.0.0.2:80", Line: 2, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, Method: Gate, Weight: 1, Request: "/"}},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("virtual:\n got %+v\nwant %+v", v, want)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

// TestTimeoutInheritance follows ldirectord's ld_setup: checktimeout and
// negotiatetimeout stand in for each other, the block's first.
func TestTimeoutInheritance(t *testing.T) {
	cases := []struct {
		global, block      []string
		gCheck, gNeg       int
		vCheck, vNegotiate int
	}{
		{nil, nil, 5, 30, 5, 30},
		{[]string{"checktimeout = 3"}, nil, 3, 3, 3, 3},
		{[]string{"negotiatetimeout = 20"}, nil, 20, 20, 20, 20},
		{[]string{"checktimeout = 3", "negotiatetimeout = 20"}, nil, 3, 20, 3, 20},
		{nil, []string{"checktimeout = 2"}, 5, 30, 2, 2},
		{nil, []string{"negotiatetimeout = 9"}, 5, 30, 9, 9},
		{[]string{"checktimeout = 3", "negotiatetimeout = 20"}, []string{"negotiatetimeout = 9"}, 3, 20, 9, 9},
		{[]string{"checktimeout = 3", "negotiatetimeout = 20"}, []string{"checktimeout = 1"}, 3, 20, 1, 1},
		{[]string{"negotiatetimeout = 20"}, []string{"checktimeout = 4", "negotiatetimeout = 8"}, 20, 20, 4, 8},
	}
	for _, tc := range cases {
		src := ""
		for _, l := range tc.global {
			src += l + "\n"
		}
		src += block(tc.block...)
		cfg := mustParse(t, src)
		d, v := cfg.Global.Defaults, cfg.Virtuals[0].Settings
		got := []int{int(d.CheckTimeout.Seconds()), int(d.NegotiateTimeout.Seconds()), int(v.CheckTimeout.Seconds()), int(v.NegotiateTimeout.Seconds())}
		want := []int{tc.gCheck, tc.gNeg, tc.vCheck, tc.vNegotiate}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("global %v block %v: got global %d/%d virtual %d/%d, want %v", tc.global, tc.block, got[0], got[1], got[2], got[3], want)
		}
	}
}

// TestSettingsInheritance: a virtual takes the global values it does not
// set, wherever in the file the global line stands.
func TestSettingsInheritance(t *testing.T) {
	src := block("quiescent = no") + "virtual = 10.0.0.1:443\n\treal = 10.0.0.2:443 gate\n" +
		"quiescent = yes\nemailalert = \"ops@x.y\"\nfailurecount = 3\ncheckinterval = 4\n"
	cfg := mustParse(t, src)
	a, b := cfg.Virtuals[0].Settings, cfg.Virtuals[1].Settings
	if a.Quiescent || !b.Quiescent {
		t.Errorf("quiescent: own no %v, inherited yes %v", a.Quiescent, b.Quiescent)
	}
	for _, s := range []Settings{a, b} {
		if !reflect.DeepEqual(s.EmailAlert, []string{"ops@x.y"}) || s.FailureCount != 3 || s.CheckInterval != 4*time.Second {
			t.Errorf("inherited settings: %+v", s)
		}
	}
}

// TestCheckInterval: a block's checkinterval counts whatever fork says
// (Perl honours it only with fork = yes; every real has its own timer here).
func TestCheckInterval(t *testing.T) {
	cfg := mustParse(t, "checkinterval = 5\n"+block("checkinterval = 2"))
	if got := cfg.Virtuals[0].Settings.CheckInterval; got != 2*time.Second {
		t.Errorf("fork = no: checkinterval %v, want the block's 2s", got)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	checkRoundTrip(t, cfg)
	cfg = mustParse(t, "fork = yes\ncheckinterval = 5\n"+block("checkinterval = 2"))
	if got := cfg.Virtuals[0].Settings.CheckInterval; got != 2*time.Second {
		t.Errorf("fork = yes: checkinterval %v, want the block's 2s", got)
	}
}

// TestServiceFromPort: the default service of each port the page lists.
func TestServiceFromPort(t *testing.T) {
	ports := map[uint16]string{
		21: "ftp", 25: "smtp", 53: "dns", 80: "http", 110: "pop", 119: "nntp", 143: "imap",
		389: "ldap", 443: "https", 587: "submission", 636: "ldaps", 993: "imaps", 995: "pops",
		1521: "oracle", 1812: "radius", 3128: "http_proxy", 3306: "mysql", 5060: "sip",
		5432: "pgsql", 8080: "none", 22: "none",
	}
	for port, want := range ports {
		src := "virtual = 10.0.0.1:" + itoa(int(port)) + "\n\treal = 10.0.0.2 gate\n"
		cfg := mustParse(t, src)
		if got := cfg.Virtuals[0].Check.Service; got != want {
			t.Errorf("port %d: service %q, want %q", port, got, want)
		}
		if want != "none" && ServicePort(want) != port {
			t.Errorf("ServicePort(%q) = %d, want %d", want, ServicePort(want), port)
		}
	}
	cfg := mustParse(t, "virtual = 7\n\treal = 10.0.0.2 gate\n")
	if got := cfg.Virtuals[0].Check.Service; got != "none" {
		t.Errorf("firewall mark: service %q, want none", got)
	}
	cfg = mustParse(t, "virtual = 10.0.0.1:80\n\treal = 10.0.0.2 gate\n\tservice = none\n")
	if got := cfg.Virtuals[0].Check.Service; got != "none" {
		t.Errorf("service = none on port 80: %q", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestServiceLogins: ftp and sip get their default login and password.
func TestServiceLogins(t *testing.T) {
	cfg := mustParse(t, "virtual = 10.0.0.1:21\n\treal = 10.0.0.2 gate\n")
	if c := cfg.Virtuals[0].Check; c.Login != "anonymous" || c.Passwd != "ldirectord@testhost" {
		t.Errorf("ftp from port: login %q passwd %q", c.Login, c.Passwd)
	}
	cfg = mustParse(t, block("service = ftp", `login = "bob"`))
	if c := cfg.Virtuals[0].Check; c.Login != "bob" || c.Passwd != "ldirectord@testhost" {
		t.Errorf("ftp with login: login %q passwd %q", c.Login, c.Passwd)
	}
	cfg = mustParse(t, block("service = sip"))
	if c := cfg.Virtuals[0].Check; c.Login != "ldirectord@testhost" || c.Passwd != "" {
		t.Errorf("sip: login %q passwd %q", c.Login, c.Passwd)
	}
}

// TestProtocolDefaults: tcp, udp for port 53, fwm for marks.
func TestProtocolDefaults(t *testing.T) {
	cases := map[string]Protocol{
		"virtual = 10.0.0.1:80":       TCP,
		"virtual = 10.0.0.1:53":       UDP,
		"virtual = 10.0.0.1:domain":   UDP,
		"virtual = 100":               FWM,
		"virtual6 = [2001:db8::1]:53": UDP,
	}
	for line, want := range cases {
		real := "\treal = 10.0.0.2 gate\n"
		if line[7] == '6' {
			real = "\treal6 = [2001:db8::2] gate\n"
		}
		cfg := mustParse(t, line+"\n"+real)
		if got := cfg.Virtuals[0].Protocol; got != want {
			t.Errorf("%s: protocol %s, want %s", line, got, want)
		}
	}
	cfg := mustParse(t, "virtual = 10.0.0.1:53\n\treal = 10.0.0.2 gate\n\tprotocol = tcp\n")
	if cfg.Virtuals[0].Protocol != TCP || cfg.Virtuals[0].ID != "tcp:10.0.0.1:53" {
		t.Errorf("protocol = tcp on port 53: %s %s", cfg.Virtuals[0].Protocol, cfg.Virtuals[0].ID)
	}
	cfg = mustParse(t, "virtual = 100\n\treal = 10.0.0.2 gate\n\tprotocol = fwm\n")
	if cfg.Virtuals[0].Protocol != FWM {
		t.Errorf("protocol = fwm on a mark: %s", cfg.Virtuals[0].Protocol)
	}
}

// TestVirtualForms: every way to write the virtual line, and its identity.
func TestVirtualForms(t *testing.T) {
	cases := []struct {
		line string
		id   VirtualID
		addr string
		port uint16
		mark uint32
	}{
		{"virtual = 192.168.6.240:80", "tcp:192.168.6.240:80", "192.168.6.240", 80, 0},
		{"virtual=192.168.6.240:http", "tcp:192.168.6.240:80", "192.168.6.240", 80, 0},
		{"virtual = www.example.com:https", "tcp:192.0.2.10:443", "192.0.2.10", 443, 0},
		{"virtual = localhost:8080", "tcp:127.0.0.1:8080", "127.0.0.1", 8080, 0},
		{"virtual = 1", "fwm:1", "", 0, 1},
		{"virtual = 4294967295", "fwm:4294967295", "", 0, 4294967295},
		{"virtual6 = [2001:db8::1]:80", "tcp:[2001:db8::1]:80", "2001:db8::1", 80, 0},
		{"virtual6 = www.example.com:80", "tcp:[2001:db8::10]:80", "2001:db8::10", 80, 0},
		{"virtual6 = 2", "fwm6:2", "", 0, 2},
		{"virtual = 10.0.0.1:80 # the web", "tcp:10.0.0.1:80", "10.0.0.1", 80, 0},
	}
	for _, tc := range cases {
		real := "\treal = 10.0.0.2 gate\n"
		if tc.line[7] == '6' {
			real = "\treal6 = [2001:db8::2] gate\n"
		}
		cfg := mustParse(t, tc.line+"\n"+real)
		v := cfg.Virtuals[0]
		addr := ""
		if v.Addr.IsValid() {
			addr = v.Addr.String()
		}
		if v.ID != tc.id || addr != tc.addr || v.Port != tc.port || v.FWMark != tc.mark {
			t.Errorf("%s: id %s addr %q port %d mark %d", tc.line, v.ID, addr, v.Port, v.FWMark)
		}
		if v.IPv6 != (tc.line[7] == '6') {
			t.Errorf("%s: IPv6 %v", tc.line, v.IPv6)
		}
		wantBits := 32
		if v.IPv6 {
			wantBits = 128
		}
		if v.NetmaskBits != wantBits {
			t.Errorf("%s: netmask bits %d, want %d", tc.line, v.NetmaskBits, wantBits)
		}
	}
	cfg := mustParse(t, "virtual6 = [2001:db8::1]:80\n\treal6 = [2001:db8::2]:80 gate\n\tnetmask = 64\n")
	if cfg.Virtuals[0].NetmaskBits != 64 {
		t.Errorf("IPv6 netmask: %d", cfg.Virtuals[0].NetmaskBits)
	}
}

// TestRealForms: every way to write a real server.
func TestRealForms(t *testing.T) {
	type r struct {
		id           RealID
		m            Forward
		w            int
		req, recv    string
		lower, upper uint32
	}
	cases := []struct {
		line string
		want []r
	}{
		{"real = 10.0.0.2:80 gate", []r{{"10.0.0.2:80", Gate, 1, "/", "", 0, 0}}},
		{"real = 10.0.0.2 masq", []r{{"10.0.0.2:0", Masq, 1, "/", "", 0, 0}}},
		{"real = 10.0.0.2:http ipip 5", []r{{"10.0.0.2:80", IPIP, 5, "/", "", 0, 0}}},
		{"real = 10.0.0.2:80 gate 0", []r{{"10.0.0.2:80", Gate, 0, "/", "", 0, 0}}},
		{"real = web1:8080 gate 65535", []r{{"10.0.0.11:8080", Gate, 65535, "/", "", 0, 0}}},
		{"real = 10.0.0.2->10.0.0.4:80 gate 2", []r{{"10.0.0.2:80", Gate, 2, "/", "", 0, 0}, {"10.0.0.3:80", Gate, 2, "/", "", 0, 0}, {"10.0.0.4:80", Gate, 2, "/", "", 0, 0}}},
		{"real = 10.0.0.255->10.0.1.0 gate", []r{{"10.0.0.255:0", Gate, 1, "/", "", 0, 0}, {"10.0.1.0:0", Gate, 1, "/", "", 0, 0}}},
		{"real = sql01->sql03:3306 gate 10", []r{{"10.0.1.1:3306", Gate, 10, "/", "", 0, 0}, {"10.0.1.2:3306", Gate, 10, "/", "", 0, 0}, {"10.0.1.3:3306", Gate, 10, "/", "", 0, 0}}},
		{`real = 10.0.0.2:80 gate 1 "alive.html", "OK"`, []r{{"10.0.0.2:80", Gate, 1, "/alive.html", "OK", 0, 0}}},
		{`real = 10.0.0.2:80 gate "/a" "b c"`, []r{{"10.0.0.2:80", Gate, 1, "/a", "b c", 0, 0}}},
		{`real = 10.0.0.2:80 gate 3 "/a","" <l:5> <u:50>`, []r{{"10.0.0.2:80", Gate, 3, "/a", "", 5, 50}}},
		{`real = 10.0.0.2:80 gate 3 "<l:5>" "<u:50>"`, []r{{"10.0.0.2:80", Gate, 3, "/", "", 5, 50}}},
		{`real = 10.0.0.2:80 gate 3 l:5 u:50`, []r{{"10.0.0.2:80", Gate, 3, "/", "", 5, 50}}},
		{`real = 10.0.0.2:80 gate u:7`, []r{{"10.0.0.2:80", Gate, 1, "/", "", 0, 7}}},
		{`real = 10.0.0.2:80 gate 1 'say "x"', '"y"'`, []r{{"10.0.0.2:80", Gate, 1, `/say "x"`, `"y"`, 0, 0}}},
	}
	for _, tc := range cases {
		cfg := mustParse(t, "virtual = 10.0.0.1:80\n\t"+tc.line+"\n")
		var got []r
		for _, x := range cfg.Virtuals[0].Reals {
			got = append(got, r{x.ID, x.Method, x.Weight, x.Request, x.Receive, x.Lower, x.Upper})
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
	cfg := mustParse(t, "virtual6 = [2001:db8::1]:80\n\treal6 = [2001:db8::2]:80 gate\n\treal6 = v6only masq\n")
	got := []RealID{cfg.Virtuals[0].Reals[0].ID, cfg.Virtuals[0].Reals[1].ID}
	if !reflect.DeepEqual(got, []RealID{"[2001:db8::2]:80", "[2001:db8::99]:0"}) {
		t.Errorf("real6 ids: %v", got)
	}
}

// TestVirtualFallback: a block's fallback, or the global one, with the
// virtual's port when it has none.
func TestVirtualFallback(t *testing.T) {
	cfg := mustParse(t, "fallback = 127.0.0.1\nfallback6 = [::1]:8080 masq\n"+
		block()+
		"virtual = 10.0.0.1:443\n\treal = 10.0.0.2 gate\n\tfallback = 127.0.0.2 masq\n"+
		"virtual = 10.0.0.1:25\n\treal = 10.0.0.2 gate\n\tfallback = 127.0.0.3:2525\n"+
		"virtual6 = [2001:db8::1]:80\n\treal6 = [2001:db8::2] gate\n"+
		"virtual = 9\n\treal = 10.0.0.2 gate\n")
	want := []string{"127.0.0.1:80 gate", "127.0.0.2:443 masq", "127.0.0.3:2525 gate", "[::1]:8080 masq", "127.0.0.1:0 gate"}
	for i, v := range cfg.Virtuals {
		fb := v.Fallback()
		if fb == nil {
			t.Errorf("virtual %s: no fallback", v.ID)
			continue
		}
		if got := string(fb.ID) + " " + string(fb.Method); got != want[i] {
			t.Errorf("virtual %s: fallback %s, want %s", v.ID, got, want[i])
		}
		other := v.Settings.Fallback6
		if v.IPv6 {
			other = v.Settings.Fallback
		}
		if other != nil {
			t.Errorf("virtual %s: fallback of the other family %v", v.ID, other)
		}
	}
	if fb := cfg.Global.Defaults.Fallback; fb.Port != 0 {
		t.Errorf("global fallback without a port: port %d", fb.Port)
	}
}

// TestCheckPort follows ld_checkport.
func TestCheckPort(t *testing.T) {
	cfg := mustParse(t, "virtual = 3\n\treal = 10.0.0.2 gate\n\treal = 10.0.0.3:8080 gate\n\tservice = http\n"+
		"virtual = 10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n\tcheckport = 81\n")
	a, b := cfg.Virtuals[0], cfg.Virtuals[1]
	if got := []uint16{a.CheckPort(a.Reals[0]), a.CheckPort(a.Reals[1]), b.CheckPort(b.Reals[0])}; !reflect.DeepEqual(got, []uint16{80, 8080, 81}) {
		t.Errorf("check ports %v", got)
	}
}

// TestWarnings: accepted, with a word to the operator.
func TestWarnings(t *testing.T) {
	cfg := mustParse(t, "supervised\ncheckcount = 2\nconnecttimeout = 3\nchecktimeout = 3\nchecktimeout = 4\n"+
		"virtual = 10.0.0.1:3306\n\treal = 10.0.0.2 gate\n"+
		"virtual = 10.0.0.1:21\n\treal = 10.0.0.2 gate\n"+
		"virtual = 10.0.0.1:2121\n\tservice = ftp\n\treal = 10.0.0.2 gate \"/ok.txt\", \"ok\"\n"+
		"virtual = 10.0.0.2:21\n\trequest = \"ok.txt\"\n\treal = 10.0.0.2 gate\n"+
		"virtual = 10.0.0.1:3128\n\treal = 10.0.0.2 gate\n"+
		"virtual = 10.0.0.2:3128\n\trequest = \"http://www.example.com/\"\n\treal = 10.0.0.2 gate\n")
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		`test.cf:1: supervised: is bare; write "supervised = yes"`,
		"test.cf:2: checkcount: is deprecated and slated for removal: see failurecount",
		"test.cf:3: connecttimeout: is not used; checktimeout and negotiatetimeout are",
		"test.cf:5: checktimeout: is also set on line 4; the later value is used",
		"test.cf:6: virtual: checks mysql with negotiate, which needs login, database and request; without them every check fails",
		"test.cf:8: virtual: checks ftp with negotiate, which fetches the file named by request; without one every check fails",
		"test.cf:16: virtual: checks http_proxy with negotiate, which fetches the absolute URL in request; without one every check fails",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}
