package plan

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

func real(addr string, port uint16, w int) *conf.Real {
	a := netip.MustParseAddr(addr)
	return &conf.Real{ID: conf.RealID(netip.AddrPortFrom(a, port).String()), Addr: a, Port: port, Method: conf.Masq, Weight: w}
}

func virtual(reals ...*conf.Real) *conf.Virtual {
	return &conf.Virtual{
		ID: "tcp:10.0.0.1:80", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Protocol: conf.TCP,
		Scheduler: "wrr", NetmaskBits: 32, Reals: reals,
		Check:    conf.Check{Type: conf.CheckConnect},
		Settings: conf.Settings{CheckTimeout: 5 * time.Second, NegotiateTimeout: 30 * time.Second, CheckInterval: 10 * time.Second, FailureCount: 1, CheckCount: 1},
	}
}

func weights(kv kernel.Virtual) map[string]int {
	m := map[string]int{}
	for _, d := range kv.Destinations {
		m[netip.AddrPortFrom(d.Addr, d.Port).String()] = d.Weight
	}
	return m
}

func TestDesired(t *testing.T) {
	r1, r2 := real("10.1.0.1", 80, 3), real("10.1.0.2", 80, 1)
	fb := real("127.0.0.1", 80, 7)
	cases := []struct {
		name      string
		quiescent bool
		fallback  *conf.Real
		st        map[conf.RealID]Status
		want      map[string]int
	}{
		{"unchecked at weight (kept only if present: Optional)", false, nil, nil, map[string]int{"10.1.0.1:80": 3, "10.1.0.2:80": 1}},
		{"up at weight", false, nil, map[conf.RealID]Status{r1.ID: Up, r2.ID: Down}, map[string]int{"10.1.0.1:80": 3}},
		{"quiescent keeps down at 0", true, nil, map[conf.RealID]Status{r1.ID: Up, r2.ID: Down}, map[string]int{"10.1.0.1:80": 3, "10.1.0.2:80": 0}},
		{"quiescent unchecked at 0", true, nil, nil, map[string]int{"10.1.0.1:80": 0, "10.1.0.2:80": 0}},
		{"fallback when none up", false, fb, map[conf.RealID]Status{r1.ID: Down, r2.ID: Down}, map[string]int{"127.0.0.1:80": 1}},
		{"fallback with quiescent", true, fb, map[conf.RealID]Status{r1.ID: Down}, map[string]int{"10.1.0.1:80": 0, "10.1.0.2:80": 0, "127.0.0.1:80": 1}},
		{"fallback leaves when one up", false, fb, map[conf.RealID]Status{r1.ID: Down, r2.ID: Up}, map[string]int{"10.1.0.2:80": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := virtual(r1, r2)
			v.Settings.Quiescent = c.quiescent
			v.Settings.Fallback = c.fallback
			cfg := &conf.Config{Virtuals: []*conf.Virtual{v}}
			got := Desired(cfg, Health{v.ID: c.st})
			if len(got) != 1 {
				t.Fatalf("Desired gave %d virtuals, want 1", len(got))
			}
			if w := weights(got[0]); !reflect.DeepEqual(w, c.want) {
				t.Errorf("destinations = %v, want %v", w, c.want)
			}
			if got[0].Service.Protocol != "tcp" || got[0].Service.Port != 80 || got[0].Service.Scheduler != "wrr" {
				t.Errorf("service = %+v, want tcp 10.0.0.1:80 wrr", got[0].Service)
			}
		})
	}
}

func TestDestinationPortOfGate(t *testing.T) {
	v := virtual()
	r := real("10.1.0.1", 8080, 1)
	r.Method = conf.Gate
	if d := Destination(v, r, 1); d.Port != 80 {
		t.Errorf("gate destination port = %d, want the virtual's 80", d.Port)
	}
	r.Method = conf.Masq
	if d := Destination(v, r, 1); d.Port != 8080 {
		t.Errorf("masq destination port = %d, want 8080", d.Port)
	}
}

func TestFWMarkService(t *testing.T) {
	v := virtual(real("10.1.0.1", 0, 1))
	v.FWMark, v.Protocol, v.Addr, v.Port = 7, conf.FWM, netip.Addr{}, 0
	s := Service(v)
	if s.FWMark != 7 || s.Protocol != "" || s.Addr.IsValid() {
		t.Errorf("fwmark service = %+v, want mark 7 without protocol and address", s)
	}
}

func TestOptional(t *testing.T) {
	r1 := real("10.1.0.1", 80, 1)
	v := virtual(r1)
	v.Settings.Quiescent = true
	cfg := &conf.Config{Virtuals: []*conf.Virtual{v}}
	h := Health{v.ID: {r1.ID: Down}}
	if got := Optional(cfg, h); len(got) != 1 || got[0].Dest.Weight != 0 {
		t.Errorf("Optional = %+v, want the down real at weight 0", got)
	}
	v.Settings.ReaddQuiescent = true
	if got := Optional(cfg, h); len(got) != 0 {
		t.Errorf("Optional with readdquiescent = %+v, want none", got)
	}
}

func TestObserve(t *testing.T) {
	type step struct {
		ok   bool
		want Transition
		st   Status
	}
	cases := []struct {
		name  string
		fc    int
		steps []step
	}{
		{"first failure of unchecked", 3, []step{{false, WentDown, Down}, {false, Same, Down}, {true, WentUp, Up}}},
		{"failurecount 3", 3, []step{{true, WentUp, Up}, {false, SoftFailure, Up}, {false, SoftFailure, Up}, {false, WentDown, Down}}},
		{"success resets", 2, []step{{true, WentUp, Up}, {false, SoftFailure, Up}, {true, Same, Up}, {false, SoftFailure, Up}, {false, WentDown, Down}}},
		{"failurecount 1", 1, []step{{true, WentUp, Up}, {false, WentDown, Down}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s RealState
			for i, st := range c.steps {
				var tr Transition
				s, tr = Observe(s, st.ok, time.Time{}, Rules{FailureCount: c.fc})
				if tr != st.want || s.Status != st.st {
					t.Fatalf("step %d (ok=%v): transition %v status %v, want %v %v", i, st.ok, tr, s.Status, st.want, st.st)
				}
			}
		})
	}
}

func TestDiffConfig(t *testing.T) {
	a, b := virtual(real("10.1.0.1", 80, 1)), virtual(real("10.1.0.1", 80, 1))
	b.ID, b.Port = "tcp:10.0.0.1:81", 81
	c := virtual(real("10.1.0.1", 80, 1))
	c.ID, c.Port = "tcp:10.0.0.1:82", 82
	old := &conf.Config{Virtuals: []*conf.Virtual{a, b}}
	a2 := *a
	a2.Line = 99
	b2 := *b
	b2.Scheduler = "rr"
	d := DiffConfig(old, &conf.Config{Virtuals: []*conf.Virtual{&a2, &b2, c}})
	if len(d.Same) != 1 || d.Same[0].ID != a.ID {
		t.Errorf("Same = %v, want %s (only its line moved)", d.Same, a.ID)
	}
	if len(d.Changed) != 1 || d.Changed[0].Scheduler != "rr" {
		t.Errorf("Changed = %v, want the new %s", d.Changed, b.ID)
	}
	if len(d.Added) != 1 || d.Added[0].ID != c.ID {
		t.Errorf("Added = %v, want %s", d.Added, c.ID)
	}
	d = DiffConfig(&conf.Config{Virtuals: []*conf.Virtual{a, b}}, &conf.Config{Virtuals: []*conf.Virtual{b}})
	if len(d.Removed) != 1 || d.Removed[0].ID != a.ID {
		t.Errorf("Removed = %v, want %s", d.Removed, a.ID)
	}
}

func TestDiffReals(t *testing.T) {
	old := virtual(real("10.1.0.1", 80, 1), real("10.1.0.2", 80, 1), real("10.1.0.3", 80, 1))
	new := virtual(real("10.1.0.1", 80, 1), real("10.1.0.2", 80, 5), real("10.1.0.4", 80, 1))
	d := DiffReals(old, new)
	ids := func(rs []*conf.Real) (s []string) {
		for _, r := range rs {
			s = append(s, string(r.ID))
		}
		return s
	}
	if got := ids(d.Same); !reflect.DeepEqual(got, []string{"10.1.0.1:80"}) {
		t.Errorf("Same = %v", got)
	}
	if got := ids(d.Changed); !reflect.DeepEqual(got, []string{"10.1.0.2:80"}) {
		t.Errorf("Changed = %v", got)
	}
	if got := ids(d.Added); !reflect.DeepEqual(got, []string{"10.1.0.4:80"}) {
		t.Errorf("Added = %v", got)
	}
	if got := ids(d.Removed); !reflect.DeepEqual(got, []string{"10.1.0.3:80"}) {
		t.Errorf("Removed = %v", got)
	}
}

func TestMaintenance(t *testing.T) {
	names := MaintenanceNames(netip.MustParseAddr("172.16.1.2"), 4444, []string{"realserver2.example.com."})
	want := []string{"172.16.1.2:4444", "172.16.1.2", "realserver2.example.com:4444", "realserver2.example.com", "realserver2:4444", "realserver2"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("MaintenanceNames = %v, want %v", names, want)
	}
	for _, n := range want {
		dir := t.TempDir()
		if _, ok := InMaintenance(dir, names); ok {
			t.Fatalf("empty dir reported maintenance")
		}
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, ok := InMaintenance(dir, names); !ok || got != n {
			t.Errorf("with file %q: InMaintenance = %q %v", n, got, ok)
		}
	}
	if _, ok := InMaintenance("", names); ok {
		t.Error("no maintenancedir reported maintenance")
	}
}

func TestMonitorLine(t *testing.T) {
	at := time.Date(2026, 11, 5, 9, 3, 4, 0, time.Local)
	got := MonitorLine(at, 42, netip.MustParseAddr("10.1.0.1"), 80, Down, "refused|100%\nx")
	want := "[Thu Nov  5 09:03:04 2026] [42] 10.1.0.1 80 [down] refused%7c100%25%0ax\n"
	if got != want {
		t.Errorf("MonitorLine = %q, want %q", got, want)
	}
}

func TestMail(t *testing.T) {
	s := conf.Settings{EmailAlert: []string{"ops@example.com"}}
	if !MailWanted(s, Running) {
		t.Error("default emailalertstatus should mail while running")
	}
	s.EmailAlertStatus = []string{Starting}
	if MailWanted(s, Running) || !MailWanted(s, Starting) {
		t.Error("emailalertstatus = starting should mail while starting only")
	}
	s.EmailAlertStatus = []string{"none"}
	if MailWanted(s, Running) {
		t.Error("emailalertstatus = none mailed")
	}
	if MailWanted(conf.Settings{}, Running) {
		t.Error("mailed without emailalert")
	}
	now := time.Now()
	s.EmailAlertFreq = time.Minute
	if ResendDue(s, now.Add(-30*time.Second), now) || !ResendDue(s, now.Add(-time.Minute), now) {
		t.Error("ResendDue wrong around emailalertfreq")
	}
	s.EmailAlertFreq = 0
	if ResendDue(s, now.Add(-time.Hour), now) {
		t.Error("emailalertfreq = 0 resent")
	}
	if got := SMTPAddr("127.0.0.1"); got != "127.0.0.1:25" {
		t.Errorf("SMTPAddr = %q", got)
	}
	v := virtual()
	v.ServiceName = "web"
	v.Settings.EmailAlert = []string{"a@x", "b@x"}
	m := AlertMail(v, "lb1", "", "Deleted real server", Running)
	b := string(m.Bytes())
	for _, want := range []string{"From: root@lb1\r\n", "To: a@x, b@x\r\n", "Subject: [web] Deleted real server\r\n", "Daemon-Status: running\r\n", "Service name: web\r\n"} {
		if !strings.Contains(b, want) {
			t.Errorf("mail lacks %q:\n%s", want, b)
		}
	}
}

func TestTargetCombined(t *testing.T) {
	v := virtual()
	v.Check = conf.Check{Type: conf.CheckCombined, ConnectsBeforeNegotiate: 2, Service: "http", Port: 8080}
	r := real("10.1.0.1", 80, 1)
	r.Request = "/alive"
	var types []conf.CheckType
	for i := 0; i < 6; i++ {
		tg := Target(v, r, i)
		types = append(types, tg.Check.Type)
		if tg.Port != 8080 || tg.Check.Request != "/alive" {
			t.Fatalf("target = %+v, want checkport 8080 and the real's request", tg)
		}
	}
	want := []conf.CheckType{"connect", "connect", "negotiate", "connect", "connect", "negotiate"}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("checktype = 2 rounds = %v, want %v", types, want)
	}
	if tg := Target(v, r, 2); tg.Timeout != 30*time.Second {
		t.Errorf("negotiate timeout = %v, want negotiatetimeout", tg.Timeout)
	}
	if up, fixed := Fixed(conf.CheckOn); !up || !fixed {
		t.Error("checktype on is not fixed up")
	}
	if up, fixed := Fixed(conf.CheckOff); up || !fixed {
		t.Error("checktype off is not fixed down")
	}
}

func TestTargetDeadlineAndFWMark(t *testing.T) {
	v := virtual()
	v.FWMark = 7
	v.Settings.CheckTimeout, v.Settings.CheckCount = 2*time.Second, 3
	r := real("10.1.0.1", 80, 1)
	for _, c := range []struct {
		typ   conf.CheckType
		proto conf.Protocol
		want  time.Duration
	}{
		{conf.CheckPing, conf.TCP, 6 * time.Second},
		{conf.CheckConnect, conf.UDP, 6 * time.Second}, // a UDP connect check pings
		{conf.CheckConnect, conf.TCP, 2 * time.Second},
	} {
		v.Check.Type, v.Protocol = c.typ, c.proto
		tg := Target(v, r, 0)
		if got := Deadline(tg); got != c.want {
			t.Errorf("checktype %s over %s: deadline %v, want %v (checkcount × checktimeout for pings)", c.typ, c.proto, got, c.want)
		}
		if tg.FWMark != 7 {
			t.Errorf("target FWMark = %d, want the virtual's mark 7", tg.FWMark)
		}
	}
}

// A real not yet checked is optional: kept while an adopted table holds
// it, never put in; with quiescent it is simply at weight 0.
func TestUncheckedIsOptional(t *testing.T) {
	r1, r2 := real("10.1.0.1", 80, 3), real("10.1.0.2", 80, 1)
	v := virtual(r1, r2)
	cfg := &conf.Config{Virtuals: []*conf.Virtual{v}}
	h := Health{v.ID: {r1.ID: Up}}
	opt := Optional(cfg, h)
	if len(opt) != 1 || opt[0].Dest.Addr != r2.Addr || opt[0].Dest.Weight != 1 {
		t.Fatalf("Optional = %+v, want the unchecked real at its weight", opt)
	}
	desired := Desired(cfg, h)
	adopted := []kernel.Virtual{{Service: desired[0].Service, Destinations: []kernel.Destination{Destination(v, r2, 1)}}}
	if got := weights(DropAbsentOptional(desired, adopted, opt)[0]); len(got) != 2 || got["10.1.0.2:80"] != 1 {
		t.Errorf("adopted table holding the unchecked real: %v, want it kept", got)
	}
	if got := weights(DropAbsentOptional(desired, nil, opt)[0]); len(got) != 1 || got["10.1.0.1:80"] != 3 {
		t.Errorf("empty table: %v, want the unchecked real left out", got)
	}
	v.Settings.Quiescent = true
	if opt := Optional(cfg, h); len(opt) != 0 {
		t.Errorf("quiescent: Optional = %+v, want none (unchecked reals are at weight 0 anyway)", opt)
	}
}
