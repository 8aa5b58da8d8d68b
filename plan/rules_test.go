package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
)

// run feeds Observe one result per second from t0 and returns the
// transitions and the statuses after each.
func run(s RealState, r Rules, t0 time.Time, results string) (RealState, []Transition, string) {
	var trs []Transition
	var st strings.Builder
	for i, c := range results {
		var tr Transition
		s, tr = Observe(s, c == '+', t0.Add(time.Duration(i)*time.Second), r)
		trs = append(trs, tr)
		st.WriteString(map[Status]string{Up: "U", Down: "D", Unknown: "?"}[s.Status])
	}
	return s, trs, st.String()
}

func TestRise(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cases := []struct {
		name    string
		rules   Rules
		results string // + good, - failed, one a second
		want    string // status after each
	}{
		{"rise 1 is today's rule", Rules{Rise: 1}, "-+", "DU"},
		{"rise 0 counts as 1", Rules{}, "-+-+", "DUDU"},
		{"rise 3: three good in a row", Rules{Rise: 3}, "-+++", "DDDU"},
		{"a failure resets the count", Rules{Rise: 3}, "-++-+++", "DDDDDDU"},
		{"an unchecked real comes up at once", Rules{Rise: 3}, "+", "U"},
		{"with failurecount", Rules{Rise: 2, FailureCount: 2}, "+--++", "UUDDU"},
	}
	for _, c := range cases {
		_, _, got := run(RealState{}, c.rules, t0, c.results)
		if got != c.want {
			t.Errorf("%s: %s gives %s, want %s", c.name, c.results, got, c.want)
		}
	}
	_, trs, _ := run(RealState{}, Rules{Rise: 3}, t0, "-++")
	if trs[1] != Rising || trs[2] != Rising {
		t.Errorf("good checks short of rise: %v, want Rising", trs)
	}
}

func TestFlapDamping(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := Rules{FlapCount: 4, FlapWindow: 60 * time.Second}
	// Up (its first verdict, no change), then down and up every second:
	// the fifth change within the window holds it down for one window.
	s, trs, st := run(RealState{}, r, t0, "+-+-+-+-")
	if st != "UDUDUDDD" {
		t.Fatalf("statuses %s, want the fifth change held down: UDUDUDDD", st)
	}
	if trs[5] != Damped || trs[6] != Same || trs[7] != Same {
		t.Errorf("transitions %v: want Damped once, then Same while held (logged once)", trs)
	}
	if want := t0.Add(5*time.Second + 60*time.Second); !s.HeldUntil.Equal(want) || s.Penalty != 60*time.Second {
		t.Errorf("held until %v with penalty %v, want %v and one window", s.HeldUntil, s.Penalty, want)
	}
	// After the hold, a good check brings it back.
	s, tr := Observe(s, true, s.HeldUntil, r)
	if tr != WentUp || s.Status != Up {
		t.Fatalf("after the hold: %v %v, want WentUp", tr, s.Status)
	}
	// Flapping again at once doubles the penalty.
	at := s.HeldUntil.Add(time.Second)
	s, _, _ = run(s, r, at, "-+-+")
	if s.Penalty != 120*time.Second {
		t.Errorf("flapping again after the hold: penalty %v, want it doubled to 2m", s.Penalty)
	}
	// Calm decays it: two windows of calm after the hold halve it twice,
	// back below one window, so the next damping starts over.
	calm := s.HeldUntil.Add(2 * time.Minute)
	s, tr = Observe(s, true, calm, r)
	if tr != WentUp {
		t.Fatalf("after the second hold: %v", tr)
	}
	s, _, _ = run(s, r, calm.Add(time.Second), "-+-+")
	if s.Penalty != 60*time.Second {
		t.Errorf("after calm: penalty %v, want one window again", s.Penalty)
	}
	// It never exceeds eight windows.
	for i := 0; i < 10; i++ {
		s, _ = Observe(s, true, s.HeldUntil, r)
		s, _, _ = run(s, r, s.HeldUntil.Add(time.Second), "-+-+")
	}
	if s.Penalty != 8*time.Minute {
		t.Errorf("penalty after endless flapping %v, want the cap of 8 windows", s.Penalty)
	}
	// Off: no damping whatever the flapping.
	if _, _, st := run(RealState{}, Rules{}, t0, "+-+-+-+-+"); st != "UDUDUDUDU" {
		t.Errorf("without flapdamping: %s", st)
	}
	// Changes spread wider than the window never damp.
	s = RealState{}
	for i, c := range "+-+-+-+-+" {
		s, tr = Observe(s, c == '+', t0.Add(time.Duration(i)*20*time.Second), r)
		if tr == Damped {
			t.Fatalf("damped at change %d though at most 3 changes fall in any minute", i)
		}
	}
}

// failurecount's soft failures are no change of state: they never count
// towards flapping.
func TestFlapDampingCountsChangesOnly(t *testing.T) {
	r := Rules{FailureCount: 3, FlapCount: 1, FlapWindow: time.Minute}
	_, trs, st := run(RealState{}, r, time.Unix(0, 0), "+--+--+")
	if st != "UUUUUUU" {
		t.Errorf("soft failures only: %s %v, want up throughout", st, trs)
	}
}

func TestRampWeight(t *testing.T) {
	since := time.Unix(1000, 0)
	d := 10 * time.Second
	cases := []struct {
		at   time.Duration
		w    int
		want int
		done bool
	}{
		{0, 10, 1, false},
		{999 * time.Millisecond, 10, 1, false},
		{time.Second, 10, 1, false},
		{5 * time.Second, 10, 5, false},
		{5500 * time.Millisecond, 10, 5, false}, // whole seconds only
		{9 * time.Second, 10, 9, false},
		{10 * time.Second, 10, 10, true},
		{time.Hour, 10, 10, true},
		{5 * time.Second, 1, 1, true},
		{5 * time.Second, 100, 50, false},
	}
	for _, c := range cases {
		w, done := RampWeight(c.w, since, since.Add(c.at), d)
		if w != c.want || done != c.done {
			t.Errorf("weight %d at %v of %v: %d %v, want %d %v", c.w, c.at, d, w, done, c.want, c.done)
		}
	}
}

func TestSlowStart(t *testing.T) {
	r1, r2, r3 := real("10.1.0.1", 80, 10), real("10.1.0.2", 80, 4), real("10.1.0.3", 80, 10)
	v := virtual(r1, r2, r3)
	v.Settings.SlowStart = 10 * time.Second
	cfg := &conf.Config{Virtuals: []*conf.Virtual{v}}
	h := Health{v.ID: {r1.ID: Up, r2.ID: Up, r3.ID: Down}}
	t0 := time.Unix(1000, 0)
	ramps := Ramps{}
	ramps.Start(v.ID, r1.ID, t0)
	vs := Desired(cfg, h)
	next := SlowStart(cfg, vs, ramps, t0.Add(4500*time.Millisecond))
	if got := weights(vs[0]); got["10.1.0.1:80"] != 4 || got["10.1.0.2:80"] != 4 {
		t.Errorf("weights %v: want the ramping real at 4 of 10 and the other at its 4", got)
	}
	if want := t0.Add(5 * time.Second); !next.Equal(want) {
		t.Errorf("next step at %v, want the next whole second %v", next, want)
	}
	vs = Desired(cfg, h)
	if next := SlowStart(cfg, vs, ramps, t0.Add(10*time.Second)); !next.IsZero() || len(ramps[v.ID]) != 0 {
		t.Errorf("at the end of the ramp: next %v, ramps %v; want none left", next, ramps)
	}
	if got := weights(vs[0]); got["10.1.0.1:80"] != 10 {
		t.Errorf("after the ramp: %v, want full weight", got)
	}
	// A real that went down while ramping: its ramp is stopped.
	ramps.Start(v.ID, r1.ID, t0)
	ramps.Stop(v.ID, r1.ID)
	vs = Desired(cfg, h)
	if next := SlowStart(cfg, vs, ramps, t0.Add(time.Second)); !next.IsZero() || weights(vs[0])["10.1.0.1:80"] != 10 {
		t.Error("a stopped ramp still lowered the weight")
	}
}

func TestFailOpen(t *testing.T) {
	var reals []*conf.Real
	for _, a := range []string{"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"} {
		reals = append(reals, real(a, 80, 1))
	}
	v := virtual(reals...)
	v.Settings.FailOpen, v.Settings.FailOpenHold = 50, 5*time.Minute
	v.Settings.CheckInterval, v.Settings.CheckTimeout, v.Settings.NegotiateTimeout = 2*time.Second, 3*time.Second, 3*time.Second
	// window: 1 × 2s + 3s = 5s
	st := map[conf.RealID]Status{}
	for _, r := range reals {
		st[r.ID] = Up
	}
	t0 := time.Unix(1000, 0)
	var f FailOpen
	down := func(i int, at time.Duration) {
		st[reals[i].ID] = Down
		f = f.Judge(v, st, reals[i].ID, Down, false, t0.Add(at))
	}
	up := func(i int, at time.Duration) {
		st[reals[i].ID] = Up
		f = f.Judge(v, st, reals[i].ID, Up, false, t0.Add(at))
	}
	down(0, 0)
	down(1, time.Second)
	if f.Held() {
		t.Fatal("held at 2 of 4 down: the rule is more than 50%")
	}
	down(2, 2*time.Second)
	if !f.Held() {
		t.Fatal("3 of 4 down within the window: not held")
	}
	h := HeldHealth(Health{v.ID: st}, map[conf.VirtualID]FailOpen{v.ID: f})
	for i := 0; i < 3; i++ {
		if h[v.ID][reals[i].ID] != Up {
			t.Errorf("held health of real %d = %v, want up", i, h[v.ID][reals[i].ID])
		}
	}
	if st[reals[0].ID] != Down {
		t.Error("HeldHealth changed the health it was given")
	}
	// Still held while most stay down, past the window.
	f = f.Recheck(v, st, t0.Add(time.Minute))
	if !f.Held() || len(f.Downs) != 3 {
		t.Errorf("a minute later: held %v with %d downs, want held with 3", f.Held(), len(f.Downs))
	}
	up(0, time.Minute+time.Second)
	up(1, time.Minute+2*time.Second)
	if f.Held() {
		t.Error("1 of 4 down: the hold should end")
	}
	// Failures spread wider than the window are the reals' own.
	f, st = FailOpen{}, map[conf.RealID]Status{}
	for _, r := range reals {
		st[r.ID] = Up
	}
	for i := 0; i < 4; i++ {
		down(i, time.Duration(i)*10*time.Second)
		if f.Held() {
			t.Fatalf("held after real %d went down, though each fell 10s apart", i)
		}
	}
	// The hold ends after FailOpenHold even if all stay down, and the old
	// failures do not open it again.
	f, st = FailOpen{}, map[conf.RealID]Status{}
	for _, r := range reals {
		st[r.ID] = Up
	}
	for i := 0; i < 4; i++ {
		down(i, 0)
	}
	if !f.Held() {
		t.Fatal("all down at once: not held")
	}
	f = f.Recheck(v, st, t0.Add(5*time.Minute))
	if f.Held() {
		t.Error("still held after FailOpenHold")
	}
	if f = f.Recheck(v, st, t0.Add(5*time.Minute+time.Second)); f.Held() {
		t.Error("held again by failures of five minutes ago")
	}
	// Reals an operator put into maintenance together are no fault.
	f, st = FailOpen{}, map[conf.RealID]Status{}
	for _, r := range reals {
		st[r.ID] = Up
	}
	for i := 0; i < 3; i++ {
		st[reals[i].ID] = Down
		f = f.Judge(v, st, reals[i].ID, Down, true, t0)
	}
	if f.Held() {
		t.Error("held for three reals put into maintenance")
	}
	// Off.
	v.Settings.FailOpen = 0
	if f := (FailOpen{}).Judge(v, st, reals[0].ID, Down, false, t0); f.Held() {
		t.Error("held with failopen off")
	}
}

func TestJitter(t *testing.T) {
	iv := 10 * time.Second
	if got := FirstOffset(iv, 0, "10.1.0.1:80", 0.5); got != 500*time.Millisecond {
		t.Errorf("without jitter: %v, want half of the 1s first spread", got)
	}
	a, b := FirstOffset(iv, 10, "10.1.0.1:80", 0.1), FirstOffset(iv, 10, "10.1.0.1:80", 0.9)
	if a != b || a < 0 || a >= iv {
		t.Errorf("with jitter: offsets %v and %v, want one stable offset within the interval", a, b)
	}
	seen := map[time.Duration]bool{}
	for i := 0; i < 100; i++ {
		seen[FirstOffset(iv, 10, "10.1."+string(rune('a'+i%26))+string(rune('a'+i/26))+":80", 0)] = true
	}
	if len(seen) < 90 {
		t.Errorf("100 reals share %d offsets: not spread", len(seen))
	}
	for _, c := range []struct {
		jitter int
		rnd    float64
		want   time.Duration
	}{
		{0, 0.99, iv}, {10, 0, 9 * time.Second}, {10, 0.5, iv}, {10, 0.75, 10500 * time.Millisecond},
	} {
		if got := CheckDelay(iv, c.jitter, c.rnd); got != c.want {
			t.Errorf("CheckDelay(%v, %d%%, %v) = %v, want %v", iv, c.jitter, c.rnd, got, c.want)
		}
	}
}

func TestShareKey(t *testing.T) {
	r := real("10.1.0.1", 80, 1)
	a, b := virtual(r), virtual(r)
	b.ID, b.Port = "tcp:10.0.0.1:8080", 8080
	a.Check = conf.Check{Type: conf.CheckNegotiate, Service: "http", Request: "/", Receive: "ok"}
	b.Check = a.Check
	if ShareKey(NewProbe(a, r, 0)) != ShareKey(NewProbe(b, r, 0)) {
		t.Error("the same check of the same real from two virtuals: different keys")
	}
	b.Check.Receive = "alive"
	if ShareKey(NewProbe(a, r, 0)) == ShareKey(NewProbe(b, r, 0)) {
		t.Error("another receive: the same key")
	}
	b.Check = a.Check
	b.Settings.NegotiateTimeout = time.Second
	if ShareKey(NewProbe(a, r, 0)) == ShareKey(NewProbe(b, r, 0)) {
		t.Error("another timeout: the same key")
	}
	b.Settings = a.Settings
	a.Check = conf.Check{Type: conf.CheckExternal, Command: "/bin/check"}
	b.Check = a.Check
	if ShareKey(NewProbe(a, r, 0)) == ShareKey(NewProbe(b, r, 0)) {
		t.Error("external checks of two virtuals share a key, though the virtual is their argument")
	}
}

// The rules beside quiescent and fallback: a quiescent down real stays at
// weight 0 and ramps from 1 when it returns; a held table keeps its reals
// up, so the fallback stays out.
func TestRulesWithQuiescentAndFallback(t *testing.T) {
	r1, r2 := real("10.1.0.1", 80, 6), real("10.1.0.2", 80, 6)
	v := virtual(r1, r2)
	v.Settings.Quiescent, v.Settings.SlowStart = true, 6*time.Second
	v.Settings.Fallback = real("127.0.0.1", 80, 1)
	cfg := &conf.Config{Virtuals: []*conf.Virtual{v}}
	t0 := time.Unix(1000, 0)
	ramps := Ramps{}
	ramps.Start(v.ID, r1.ID, t0)
	vs := Desired(cfg, Health{v.ID: {r1.ID: Up, r2.ID: Down}})
	SlowStart(cfg, vs, ramps, t0.Add(3*time.Second))
	if got := weights(vs[0]); got["10.1.0.1:80"] != 3 || got["10.1.0.2:80"] != 0 || len(got) != 2 {
		t.Errorf("quiescent with slowstart: %v, want the returning real at 3 of 6 and the down one at 0", got)
	}

	v.Settings.Quiescent, v.Settings.FailOpen, v.Settings.FailOpenHold = false, 50, time.Minute
	st := map[conf.RealID]Status{r1.ID: Up, r2.ID: Up}
	var f FailOpen
	for _, r := range []*conf.Real{r1, r2} {
		st[r.ID] = Down
		f = f.Judge(v, st, r.ID, Down, false, t0)
	}
	h := Health{v.ID: st}
	vs = Desired(cfg, HeldHealth(h, map[conf.VirtualID]FailOpen{v.ID: f}))
	if got := weights(vs[0]); got["10.1.0.1:80"] != 6 || got["10.1.0.2:80"] != 6 || len(got) != 2 {
		t.Errorf("held table: %v, want both reals in and no fallback", got)
	}
	vs = Desired(cfg, h)
	if got := weights(vs[0]); got["127.0.0.1:80"] != 1 || len(got) != 1 {
		t.Errorf("not held: %v, want the fallback alone", got)
	}
}

// TestJudgeNoVerdict: a check that failed for want of the director's own
// resources leaves the real as it was, whatever its state and rules; a
// result that is not the director's fault is judged as Observe judges it.
func TestJudgeNoVerdict(t *testing.T) {
	t0 := time.Unix(1000, 0)
	fault := checks.Result{Reason: "no verdict, the director is short of resources: socket: too many open files", DirectorFault: true}
	held := RealState{Status: Down, HeldUntil: t0.Add(time.Hour), Penalty: time.Minute, Changes: []time.Time{t0}}
	rules := Rules{FailureCount: 3, Rise: 2, FlapCount: 2, FlapWindow: time.Minute}
	cases := []struct {
		name  string
		state RealState
		res   checks.Result
		want  Transition
		after Status
	}{
		{"unchecked stays unknown", RealState{}, fault, NoVerdict, Unknown},
		{"up stays up, no soft failure counted", RealState{Status: Up, Round: 7}, fault, NoVerdict, Up},
		{"up after two soft failures stays up", RealState{Status: Up, Failures: 2}, fault, NoVerdict, Up},
		{"down stays down, no rise lost", RealState{Status: Down, Successes: 1}, fault, NoVerdict, Down},
		{"held down stays held", held, fault, NoVerdict, Down},
		{"a plain failure still counts", RealState{Status: Up, Failures: 2}, checks.Result{Reason: "connect: connection refused"}, WentDown, Down},
		{"an up result marked a fault is a verdict", RealState{Status: Down, Successes: 1}, checks.Result{Up: true, DirectorFault: true}, WentUp, Up},
	}
	for _, c := range cases {
		s, tr := Judge(c.state, c.res, t0, rules)
		if tr != c.want || s.Status != c.after {
			t.Errorf("%s: transition %v status %v, want %v %v", c.name, tr, s.Status, c.want, c.after)
		}
		if tr == NoVerdict && !reflect.DeepEqual(s, c.state) {
			t.Errorf("%s: state %+v, want it untouched: %+v", c.name, s, c.state)
		}
	}
	// A burst of faults in the middle of failures neither adds to nor
	// resets the count: two failures, faults, a failure is down.
	s := RealState{Status: Up}
	for _, res := range []checks.Result{{}, {}, fault, fault, fault, {}} {
		s, _ = Judge(s, res, t0, rules)
	}
	if s.Status != Down {
		t.Errorf("failures around a burst of faults: %v, want down after failurecount 3", s.Status)
	}
}

func TestDrainStep(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := Drain{Since: t0, Deadline: t0.Add(10 * time.Second)}
	if got := d.Step(2, true, t0.Add(time.Second)); got.Out {
		t.Errorf("with 2 connections before the deadline: %+v, want still draining", got)
	}
	if got := d.Step(0, true, t0.Add(time.Second)); !got.Out || got.Why != "no active connection left" || !got.At.Equal(t0.Add(time.Second)) {
		t.Errorf("no connection left: %+v", got)
	}
	if got := d.Step(1, true, t0.Add(10*time.Second)); !got.Out || got.Why != "deadline passed with 1 active connection" {
		t.Errorf("at the deadline with one connection: %+v", got)
	}
	if got := d.Step(5, false, t0); !got.Out {
		t.Errorf("not in the table: %+v, want out", got)
	}
	if got := (Drain{Since: t0}).Step(5, true, t0.Add(time.Hour)); got.Out {
		t.Errorf("no deadline: %+v, want draining as long as connections last", got)
	}
	for _, c := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"300", t0.Add(300 * time.Second), false},
		{"5m", t0.Add(5 * time.Minute), false},
		{"1970-01-01T00:20:00.5Z", time.Unix(1200, 5e8).UTC(), false},
		{"soon", time.Time{}, true},
		{"-5m", time.Time{}, true},
	} {
		got, err := ParseDrainFile(c.in, t0)
		if (err != nil) != c.bad || !got.Equal(c.want) {
			t.Errorf("ParseDrainFile(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.bad)
		}
	}
}
