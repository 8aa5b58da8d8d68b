package kernel

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestApplyTolerates(t *testing.T) {
	web := svcTCP("10.0.0.1", 80)
	rr := web
	rr.Scheduler = "rr"
	r1 := dst("10.0.0.2", 80, Masq, 1)
	r2 := dst("10.0.0.3", 80, Masq, 1)
	m := NewMemory()
	load(t, m, vs(web, r1))
	changes := []Change{
		{Op: OpAddService, Service: rr},                                          // exists: becomes an edit
		{Op: OpAddDest, Service: web, Destination: weight5(r1)},                  // exists: becomes an edit
		{Op: OpEditDest, Service: web, Destination: r2},                          // missing: becomes an add
		{Op: OpDelDest, Service: web, Destination: dst("10.0.0.9", 80, Masq, 1)}, // already gone
		{Op: OpDelService, Service: svcUDP("10.0.0.1", 53)},                      // already gone
		{Op: OpEditService, Service: svcMark(4, false)},                          // missing: becomes an add
	}
	if err := Apply(m, changes); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got, _ := m.List()
	want := "[{{tcp 10.0.0.1 80 0 false rr [] 0 32 false} [{10.0.0.2 80 masq 5 0 0} {10.0.0.3 80 masq 1 0 0}]} {{ invalid IP 0 4 false wrr [] 0 32 false} []}]"
	if fmt.Sprint(got) != want {
		t.Errorf("table %v\nwant  %s", got, want)
	}
}

func weight5(d Destination) Destination { d.Weight = 5; return d }

func TestApplyGoesOnAndNamesChanges(t *testing.T) {
	web := svcTCP("10.0.0.1", 80)
	bad := svcTCP("10.0.0.2", 80)
	bad.Scheduler = "nosuch"
	m := NewMemory()
	changes := []Change{
		{Op: OpAddService, Service: bad},
		{Op: OpAddDest, Service: bad, Destination: dst("10.0.0.5", 80, Masq, 1)},
		{Op: OpAddDest, Service: bad, Destination: dst("10.0.0.6", 80, Masq, 1)},
		{Op: OpAddService, Service: web},
		{Op: OpAddDest, Service: web, Destination: dst("10.0.0.5", 80, Masq, -1)},
		{Op: OpAddDest, Service: web, Destination: dst("10.0.0.6", 80, Masq, 1)},
	}
	err := Apply(m, changes)
	if err == nil {
		t.Fatal("Apply: no error, want three")
	}
	msg := err.Error()
	for _, part := range []string{
		`ipvsadm -A -t 10.0.0.2:80 -s nosuch: service ipv4/tcp/10.0.0.2:80: scheduler "nosuch"`,
		"ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.5:80 -m -w -1: service ipv4/tcp/10.0.0.1:80 destination 10.0.0.5:80: weight -1 below zero",
		"skipped 2 destination changes of service ipv4/tcp/10.0.0.2:80",
	} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q\nlacks %q", msg, part)
		}
	}
	if !errors.Is(err, errRange) {
		t.Errorf("error %v does not wrap the range error", err)
	}
	got, _ := m.List()
	if len(got) != 1 || len(got[0].Destinations) != 1 || got[0].Destinations[0].Key() != "10.0.0.6:80" {
		t.Errorf("Apply did not go on past the errors: %v", got)
	}
}

// gen makes random tables from small pools, so that desired and actual
// overlap often.
type gen struct{ r *rand.Rand }

var schedulers = []string{"wrr", "RR", "sh", "wlc", ""}

func (g gen) service(i int) Service {
	var s Service
	switch i % 4 {
	case 0:
		s = svcTCP(fmt.Sprintf("10.0.0.%d", i), 80)
	case 1:
		s = svcUDP(fmt.Sprintf("10.0.0.%d", i), 53)
	case 2:
		s = svcTCP(fmt.Sprintf("2001:db8::%d", i), 443)
	case 3:
		s = svcMark(uint32(i), g.r.IntN(2) == 0)
	}
	s.Scheduler = schedulers[g.r.IntN(len(schedulers))]
	if g.r.IntN(3) == 0 {
		s.Persistent, s.NetmaskBits = uint32(60*(1+g.r.IntN(3))), 16+8*g.r.IntN(2)
	}
	if g.r.IntN(4) == 0 {
		s.Flags = []string{"flag-1"}
	}
	s.OnePacket = s.Protocol == "udp" && g.r.IntN(2) == 0
	return s
}

func (g gen) dest(s Service, j int) Destination {
	a := netip.MustParseAddr(fmt.Sprintf("10.1.0.%d", j))
	if s.Normalize().IPv6 {
		a = netip.MustParseAddr(fmt.Sprintf("2001:db8:1::%d", j))
	}
	methods := []Forward{Gate, Masq, IPIP}
	d := Destination{Addr: a, Port: 8000, Method: methods[g.r.IntN(3)], Weight: g.r.IntN(3)}
	if d.Method != Masq && s.FWMark == 0 {
		d.Port = s.Port // as ipvsadm leaves it; Diff would replace any other
	}
	if g.r.IntN(4) == 0 {
		d.Upper = uint32(10 + g.r.IntN(10))
		d.Lower = uint32(g.r.IntN(10))
	}
	return d
}

// table draws up to n services out of a pool of 8, each with up to 5
// destinations out of a pool of 6.
func (g gen) table(n int) []Virtual {
	var vs []Virtual
	for _, i := range g.r.Perm(8)[:g.r.IntN(n+1)] {
		v := Virtual{Service: g.service(i + 1)}
		for _, j := range g.r.Perm(6)[:g.r.IntN(6)] {
			v.Destinations = append(v.Destinations, g.dest(v.Service, j+1))
		}
		vs = append(vs, v)
	}
	return vs
}

// TestSyncConverges is a property test: from any table, under any failures
// (made up errors, and lies like ErrExist or ErrNotExist), a Sync without
// failures afterwards reaches the desired table, leaves foreign services
// alone, and the Sync after it has nothing to do.
func TestSyncConverges(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	g := gen{rand.New(rand.NewPCG(seed, 1))}
	failures := []error{errors.New("netlink: transient"), ErrExist, ErrNotExist}
	for round := range 500 {
		desired, actual := g.table(5), g.table(6)
		m := NewMemory()
		load(t, m, actual...)
		desiredKeys := map[ServiceKey]bool{}
		for _, v := range desired {
			desiredKeys[v.Service.Key()] = true
		}
		ownedKeys := map[ServiceKey]bool{}
		var foreign []Virtual
		before, _ := m.List()
		for _, v := range before {
			k := v.Service.Key()
			if g.r.IntN(2) == 0 {
				ownedKeys[k] = true
			} else if !desiredKeys[k] {
				foreign = append(foreign, v)
			}
		}
		owned := func(k ServiceKey) bool { return ownedKeys[k] }
		for range 1 + g.r.IntN(3) {
			m.FailNext(g.r.IntN(6), failures[g.r.IntN(len(failures))])
			Sync(m, desired, owned) // errors expected
		}
		m.FailNext(0, nil)
		if _, err := Sync(m, desired, owned); err != nil {
			t.Fatalf("round %d: Sync without failures: %v", round, err)
		}
		want := append(normalizedTable(desired), foreign...)
		slices.SortFunc(want, func(a, b Virtual) int { return compareServices(a.Service, b.Service) })
		got, _ := m.List()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: did not converge\ndesired %v\nactual  %v\ngot     %v\nwant    %v", round, desired, actual, got, want)
		}
		if again, err := Sync(m, desired, owned); err != nil || len(again) != 0 {
			t.Fatalf("round %d: Sync after convergence: %v, %v", round, strs(again), err)
		}
	}
}

// normalizedTable is what a table holding exactly vs lists, computed
// without Diff.
func normalizedTable(vs []Virtual) []Virtual {
	var out []Virtual
	for _, v := range vs {
		n := v.Normalize()
		slices.SortFunc(n.Destinations, compareDests)
		if len(n.Destinations) == 0 {
			n.Destinations = nil
		}
		out = append(out, n)
	}
	return out
}
