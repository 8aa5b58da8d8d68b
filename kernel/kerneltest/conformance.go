package kerneltest

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// Conformance holds a Table to the kernel's answers, as the code above it
// relies on them: its errors, its order, its safety under concurrent
// writers, and adoption by Sync. Every fake table runs it, so that a test
// that passes on one passes on the others. open returns an empty table.
func Conformance(t *testing.T, open func(t *testing.T) kernel.Table) {
	t.Run("errors", func(t *testing.T) { conformErrors(t, open(t)) })
	t.Run("order", func(t *testing.T) { conformOrder(t, open(t)) })
	t.Run("concurrent", func(t *testing.T) { conformConcurrent(t, open(t)) })
	t.Run("adoption", func(t *testing.T) { conformAdoption(t, open(t)) })
}

// errRefused stands for the kernel's EINVAL and ERANGE, which the fakes
// wrap in errors of their own: any error but ErrExist and ErrNotExist.
var errRefused = errors.New("refused")

func isKind(err, want error) bool {
	switch {
	case want == nil:
		return err == nil
	case want == errRefused:
		return err != nil && !errors.Is(err, kernel.ErrExist) && !errors.Is(err, kernel.ErrNotExist)
	}
	return errors.Is(err, want)
}

func conformErrors(t *testing.T, tb kernel.Table) {
	web := tcp("10.0.0.1", 80)
	missing := tcp("10.0.0.1", 81)
	r1 := dest("10.0.0.2", 80, kernel.Masq, 1)
	steps := []struct {
		what string
		err  error // nil, kernel.ErrExist, kernel.ErrNotExist or errRefused
		call func() error
	}{
		{"add service", nil, func() error { return tb.AddService(web) }},
		{"add service twice", kernel.ErrExist, func() error { return tb.AddService(web) }},
		{"add service with another scheduler", kernel.ErrExist, func() error { s := web; s.Scheduler = "rr"; return tb.AddService(s) }},
		{"edit missing service", kernel.ErrNotExist, func() error { return tb.UpdateService(missing) }},
		{"delete missing service", kernel.ErrNotExist, func() error { return tb.DelService(missing) }},
		{"unknown scheduler", kernel.ErrNotExist, func() error { s := missing; s.Scheduler = "nope"; return tb.AddService(s) }},
		{"no protocol", errRefused, func() error { s := missing; s.Protocol = ""; return tb.AddService(s) }},
		{"unknown flag", errRefused, func() error { s := missing; s.Flags = []string{"bogus"}; return tb.AddService(s) }},
		{"add destination", nil, func() error { return tb.AddDestination(web, r1) }},
		{"add destination twice", kernel.ErrExist, func() error { return tb.AddDestination(web, r1) }},
		{"destination of missing service", kernel.ErrNotExist, func() error { return tb.AddDestination(missing, r1) }},
		{"edit destination of missing service", kernel.ErrNotExist, func() error { return tb.UpdateDestination(missing, r1) }},
		{"delete destination of missing service", kernel.ErrNotExist, func() error { return tb.DelDestination(missing, r1) }},
		{"edit missing destination", kernel.ErrNotExist, func() error { return tb.UpdateDestination(web, dest("10.0.0.9", 80, kernel.Masq, 1)) }},
		{"delete missing destination", kernel.ErrNotExist, func() error { return tb.DelDestination(web, dest("10.0.0.9", 80, kernel.Masq, 1)) }},
		{"other family without a tunnel", errRefused, func() error { return tb.AddDestination(web, dest("2001:db8::2", 80, kernel.Masq, 1)) }},
		{"other family through a tunnel", nil, func() error { return tb.AddDestination(web, dest("2001:db8::2", 80, kernel.IPIP, 1)) }},
		{"negative weight", errRefused, func() error { return tb.AddDestination(web, dest("10.0.0.9", 80, kernel.Masq, -1)) }},
		{"lower threshold without upper", errRefused, func() error {
			return tb.AddDestination(web, kernel.Destination{Addr: netip.MustParseAddr("10.0.0.9"), Port: 80, Method: kernel.Masq, Lower: 5})
		}},
		{"edit destination", nil, func() error {
			return tb.UpdateDestination(web, kernel.Destination{Addr: r1.Addr, Port: 80, Method: kernel.Gate, Weight: 7, Upper: 9, Lower: 2})
		}},
		{"edit service", nil, func() error { s := web; s.Scheduler = "sh"; s.Flags = []string{"flag-1"}; return tb.UpdateService(s) }},
	}
	for _, st := range steps {
		if err := st.call(); !isKind(err, st.err) {
			t.Fatalf("%s: got %v, want %v", st.what, err, st.err)
		}
	}
	got, err := tb.List()
	if err != nil {
		t.Fatal(err)
	}
	want := "[{{tcp 10.0.0.1 80 0 false sh [sh-fallback] 0 32 false} [{10.0.0.2 80 gate 7 9 2} {2001:db8::2 80 ipip 1 0 0}]}]"
	if fmt.Sprint(got) != want {
		t.Errorf("List = %v\nwant   %s", got, want)
	}
	if err := tb.DelService(web); err != nil {
		t.Fatal(err)
	}
	// Deleting a service takes its destinations with it.
	if err := tb.AddService(web); err != nil {
		t.Fatal(err)
	}
	if got, _ := tb.List(); len(got) != 1 || len(got[0].Destinations) != 0 {
		t.Errorf("after delete and add: %v, want the service alone", got)
	}
}

func conformOrder(t *testing.T, tb kernel.Table) {
	fill(t, tb,
		kernel.Virtual{Service: kernel.Service{FWMark: 3, IPv6: true, Scheduler: "wrr"}},
		kernel.Virtual{Service: tcp("10.0.0.10", 80), Destinations: []kernel.Destination{
			dest("10.0.0.20", 80, kernel.Masq, 1), dest("10.0.0.3", 80, kernel.Masq, 1)}},
		kernel.Virtual{Service: tcp("10.0.0.9", 80)},
	)
	got, err := tb.List()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, v := range got {
		keys = append(keys, string(v.Service.Key()))
		for _, d := range v.Destinations {
			keys = append(keys, string(d.Key()))
		}
	}
	want := "[ipv4/tcp/10.0.0.9:80 ipv4/tcp/10.0.0.10:80 10.0.0.3:80 10.0.0.20:80 ipv6/fwmark/3]"
	if fmt.Sprint(keys) != want {
		t.Errorf("order %v, want %s", keys, want)
	}
}

// conformConcurrent runs under -race: many goroutines write at once and
// none of their destinations is lost.
func conformConcurrent(t *testing.T, tb kernel.Table) {
	web := tcp("10.0.0.1", 80)
	fill(t, tb, kernel.Virtual{Service: web})
	var wg sync.WaitGroup
	errs := make(chan error, 8*10*2)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				errs <- tb.AddDestination(web, dest(fmt.Sprintf("10.1.%d.%d", g, i), 80, kernel.Masq, 1))
				if _, err := tb.List(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := tb.List()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got[0].Destinations); n != 80 {
		t.Errorf("%d destinations, want 80", n)
	}
}

// conformAdoption is the daemon's start-up against a table that already
// holds its services (after a crash, or cleanstop = no) beside someone
// else's: nothing is flushed, only what differs changes.
func conformAdoption(t *testing.T, tb kernel.Table) {
	web := tcp("10.0.0.1", 80)
	web.Persistent, web.NetmaskBits = 600, 24
	mark := kernel.Service{FWMark: 5, IPv6: true, Scheduler: "wrr"}
	foreign := kernel.Virtual{
		Service:      kernel.Service{Protocol: "udp", Addr: netip.MustParseAddr("192.0.2.1"), Port: 53, Scheduler: "wrr"},
		Destinations: []kernel.Destination{dest("192.0.2.2", 53, kernel.Masq, 1)},
	}
	tunnel := []kernel.Destination{dest("2001:db8::2", 0, kernel.IPIP, 1)}
	desired := []kernel.Virtual{
		{Service: web, Destinations: []kernel.Destination{
			dest("10.0.0.2", 80, kernel.Gate, 2), dest("10.0.0.3", 80, kernel.Gate, 0), dest("10.0.0.4", 80, kernel.Gate, 1)}},
		{Service: mark, Destinations: tunnel},
	}
	// Built as ipvsadm would have: default forms, one weight off, one
	// real missing, one real too many.
	fill(t, tb,
		kernel.Virtual{
			Service: kernel.Service{Protocol: "tcp", Addr: web.Addr, Port: 80, Scheduler: "WRR", Persistent: 600, NetmaskBits: 24},
			Destinations: []kernel.Destination{
				dest("10.0.0.2", 80, "", 2), dest("10.0.0.3", 80, kernel.Gate, 1), dest("10.0.0.5", 80, kernel.Gate, 1)},
		},
		kernel.Virtual{Service: mark, Destinations: tunnel},
		foreign,
	)
	owned := func(k kernel.ServiceKey) bool { return k == web.Key() || k == mark.Key() }
	changes, err := kernel.Sync(tb, desired, owned)
	if err != nil {
		t.Fatal(err)
	}
	got := Commands(changes)
	want := []string{
		"-d -t 10.0.0.1:80 -r 10.0.0.5:80",
		"-e -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 0",
		"-a -t 10.0.0.1:80 -r 10.0.0.4:80 -g -w 1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("adoption changes %q, want %q", got, want)
	}
	if m, ok := tb.(*kernel.Memory); ok && m.Writes() != 8+3 {
		t.Errorf("%d writes, want 8 to load and 3 to adopt", m.Writes())
	}
	after, err := tb.List()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after[1]) != fmt.Sprint(foreign.Normalize()) {
		t.Errorf("foreign service changed: %v", after[1])
	}
	if again, err := kernel.Sync(tb, desired, owned); err != nil || len(again) != 0 {
		t.Errorf("second Sync: %v, %v; want no change", again, err)
	}
}

// fill loads vs into an empty table through kernel.Apply, as the daemon
// writes.
func fill(t *testing.T, tb kernel.Table, vs ...kernel.Virtual) {
	t.Helper()
	var adds []kernel.Change
	for _, v := range vs {
		adds = append(adds, kernel.Change{Op: kernel.OpAddService, Service: v.Service})
		for _, d := range v.Destinations {
			adds = append(adds, kernel.Change{Op: kernel.OpAddDest, Service: v.Service, Destination: d})
		}
	}
	if err := kernel.Apply(tb, adds); err != nil {
		t.Fatalf("load: %v", err)
	}
}

func tcp(addr string, port uint16) kernel.Service {
	return kernel.Service{Protocol: "tcp", Addr: netip.MustParseAddr(addr), Port: port, Scheduler: "wrr"}
}

func dest(addr string, port uint16, m kernel.Forward, w int) kernel.Destination {
	return kernel.Destination{Addr: netip.MustParseAddr(addr), Port: port, Method: m, Weight: w}
}
