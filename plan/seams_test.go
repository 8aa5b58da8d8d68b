package plan

import (
	"context"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

func kvirtual(port uint16, dests ...string) kernel.Virtual {
	v := kernel.Virtual{Service: kernel.Service{Protocol: "tcp", Addr: netip.MustParseAddr("10.0.0.1"), Port: port, Scheduler: "wrr"}}
	for _, d := range dests {
		ap := netip.MustParseAddrPort(d)
		v.Destinations = append(v.Destinations, kernel.Destination{Addr: ap.Addr(), Port: ap.Port(), Method: kernel.Masq, Weight: 0})
	}
	return v
}

func dests(v kernel.Virtual) []string {
	var out []string
	for _, d := range v.Destinations {
		out = append(out, netip.AddrPortFrom(d.Addr, d.Port).String())
	}
	return out
}

// A quiescent real that someone removed by hand stays out; one still in
// the table is kept; a destination nobody marked optional always stays.
func TestDropAbsentOptional(t *testing.T) {
	desired := []kernel.Virtual{kvirtual(80, "10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80"), kvirtual(443, "10.1.0.1:443")}
	actual := []kernel.Virtual{kvirtual(80, "10.1.0.2:80")}
	opt := []Ref{
		{Service: desired[0].Service, Dest: desired[0].Destinations[0]}, // absent: dropped
		{Service: desired[0].Service, Dest: desired[0].Destinations[1]}, // present: kept
		{Service: desired[1].Service, Dest: desired[1].Destinations[0]}, // absent service: dropped
	}
	got := DropAbsentOptional(desired, actual, opt)
	if d := dests(got[0]); !slices.Equal(d, []string{"10.1.0.2:80", "10.1.0.3:80"}) {
		t.Errorf("port 80 destinations = %v, want the present optional one and the plain one", d)
	}
	if d := dests(got[1]); len(d) != 0 || got[1].Service.Key() != desired[1].Service.Key() {
		t.Errorf("port 443 = %+v, want the service without its absent optional destination", got[1])
	}
	if d := dests(desired[0]); len(d) != 3 {
		t.Errorf("desired changed in place: %v", d)
	}
	if got := DropAbsentOptional(desired, actual, nil); !reflect.DeepEqual(got, desired) {
		t.Error("without optional destinations the desired table changed")
	}
}

func TestRetired(t *testing.T) {
	a, b, c := kvirtual(80), kvirtual(443), kvirtual(8080)
	r := Retired{}
	r.Replaced([]kernel.Virtual{a, b}, []kernel.Virtual{b, c})
	if !reflect.DeepEqual(r, Retired{a.Service.Key(): true}) {
		t.Errorf("Replaced retired %v, want only the service the new table dropped", r)
	}
	r = Retired{}
	adopted := kvirtual(9000).Service
	r.Released([]kernel.Virtual{a, b}, []kernel.Service{a.Service, adopted, c.Service}, []kernel.Service{b.Service, c.Service})
	want := Retired{a.Service.Key(): true, adopted.Key(): true}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Released retired %v, want %v: every service of the configuration but those cleanstop = no keeps", r, want)
	}
}

func TestAlertSubject(t *testing.T) {
	r := real("10.1.0.1", 80, 3)
	v := virtual(r)
	cases := []struct {
		st        Status
		quiescent bool
		repeat    bool
		want      string
	}{
		{Up, false, false, "Restored real server: 10.1.0.1:80 (tcp:10.0.0.1:80) (Weight set to 3)"},
		{Down, false, false, "Deleted real server: 10.1.0.1:80 (tcp:10.0.0.1:80) (Weight set to 0)"},
		{Down, true, false, "Quiescent real server: 10.1.0.1:80 (tcp:10.0.0.1:80) (Weight set to 0)"},
		{Down, false, true, "Still down: Deleted real server: 10.1.0.1:80 (tcp:10.0.0.1:80) (Weight set to 0)"},
	}
	for _, c := range cases {
		v.Settings.Quiescent = c.quiescent
		if got := AlertSubject(v, r, c.st, c.repeat); got != c.want {
			t.Errorf("AlertSubject(%s, quiescent %v, repeat %v) = %q, want %q", c.st, c.quiescent, c.repeat, got, c.want)
		}
	}
}

func TestProbeRun(t *testing.T) {
	r := real("10.1.0.1", 80, 1)
	v := virtual(r)
	v.Settings.CheckTimeout = 200 * time.Millisecond

	var left time.Duration
	slow := func(ctx context.Context, t checks.Target) checks.Result {
		dl, _ := ctx.Deadline()
		left = time.Until(dl)
		time.Sleep(20 * time.Millisecond)
		return checks.Result{Up: true, Reason: "ok", Duration: time.Hour}
	}
	p := NewProbe(v, r, 0)
	ctx, cancel := p.Context(context.Background())
	defer cancel()
	res := p.Run(ctx, slow)
	if left <= 0 || left > 200*time.Millisecond {
		t.Errorf("the check had %v left, want checktimeout's 200ms at most", left)
	}
	if res.Duration < 20*time.Millisecond || res.Duration > time.Minute {
		t.Errorf("Duration = %v, want the time the check took, whatever it claimed", res.Duration)
	}

	for _, typ := range []conf.CheckType{conf.CheckOn, conf.CheckOff} {
		v.Check.Type = typ
		p := NewProbe(v, r, 0)
		called := false
		res := p.Run(context.Background(), func(context.Context, checks.Target) checks.Result {
			called = true
			return checks.Result{}
		})
		if called || !p.Fixed || res.Up != (typ == conf.CheckOn) || res.Reason != "checktype "+string(typ) {
			t.Errorf("checktype %s: called %v, fixed %v, result %+v; want a fixed verdict and no check", typ, called, p.Fixed, res)
		}
	}
}

func TestStartGrace(t *testing.T) {
	a, b := virtual(), virtual()
	a.Settings.CheckInterval, a.Settings.CheckTimeout, a.Settings.NegotiateTimeout = 10*time.Second, 5*time.Second, 30*time.Second
	b.Settings.CheckInterval, b.Settings.CheckTimeout, b.Settings.NegotiateTimeout = 200*time.Millisecond, 40*time.Second, time.Second
	cfg := &conf.Config{Virtuals: []*conf.Virtual{a, b}}
	// b: 200ms of spread + 40s; a: 1s of spread + 30s; and a second.
	if got, want := StartGrace(cfg), 41200*time.Millisecond; got != want {
		t.Errorf("StartGrace = %v, want %v", got, want)
	}
}

func TestNewReport(t *testing.T) {
	r1, r2 := real("10.1.0.1", 80, 1), real("10.1.0.2", 80, 1)
	v := virtual(r1, r2)
	cfg := &conf.Config{Name: "a.cf", Virtuals: []*conf.Virtual{v}}
	h := Health{}
	h.Set(v.ID, r1.ID, Up)
	h.Set(v.ID, "10.9.9.9:80", Down) // a real no longer configured
	fbs := map[conf.VirtualID]FallbackState{v.ID: {Status: Down, Reason: "refused"}}
	rep := NewReport(cfg, h, fbs, nil, nil, nil)
	want := Health{v.ID: {r1.ID: Up, r2.ID: Unknown}}
	if !reflect.DeepEqual(rep.Health, want) {
		t.Errorf("report health = %v, want %v: every configured real, unchecked ones unknown", rep.Health, want)
	}
	h.Set(v.ID, r1.ID, Down)
	fbs[v.ID] = FallbackState{Status: Up}
	if rep.Health[v.ID][r1.ID] != Up || rep.Fallbacks[v.ID].Status != Down {
		t.Error("the report changed with the health it was made from: it must be a snapshot")
	}

	w := virtual(real("10.2.0.1", 80, 1))
	w.ID = "tcp:10.0.0.1:81"
	cfg.Virtuals = append(cfg.Virtuals, w)
	h.Set(w.ID, "10.2.0.1:80", Up)
	next := NewReport(cfg, h, fbs, nil, rep, map[conf.VirtualID]bool{w.ID: true})
	if next.Health[v.ID][r1.ID] != Up {
		t.Error("a virtual that is not dirty was copied again instead of taken from the last report")
	}
	if next.Health[w.ID]["10.2.0.1:80"] != Up {
		t.Errorf("the dirty virtual = %v, want its real up", next.Health[w.ID])
	}
	if again := NewReport(cfg, h, fbs, nil, rep, map[conf.VirtualID]bool{v.ID: true}); again.Health[v.ID][r1.ID] != Down {
		t.Error("a dirty virtual was taken from the last report")
	}
}
