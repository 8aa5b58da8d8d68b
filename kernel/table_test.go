package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
)

// tables returns each fake Table, empty, for tests that must hold for all.
func tables(t *testing.T) map[string]Table {
	ft, err := OpenFile(filepath.Join(t.TempDir(), "ipvs.json"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Table{"memory": NewMemory(), "file": ft}
}

// TestTableErrors holds both fakes to the kernel's answers.
func TestTableErrors(t *testing.T) {
	web := svcTCP("10.0.0.1", 80)
	missing := svcTCP("10.0.0.1", 81)
	r1 := dst("10.0.0.2", 80, Masq, 1)
	for name, tb := range tables(t) {
		t.Run(name, func(t *testing.T) {
			steps := []struct {
				what string
				err  error // nil, ErrExist, ErrNotExist, or errInvalid/errRange
				call func() error
			}{
				{"add service", nil, func() error { return tb.AddService(web) }},
				{"add service twice", ErrExist, func() error { return tb.AddService(web) }},
				{"add service with another scheduler", ErrExist, func() error { s := web; s.Scheduler = "rr"; return tb.AddService(s) }},
				{"edit missing service", ErrNotExist, func() error { return tb.UpdateService(missing) }},
				{"delete missing service", ErrNotExist, func() error { return tb.DelService(missing) }},
				{"unknown scheduler", ErrNotExist, func() error { s := missing; s.Scheduler = "nope"; return tb.AddService(s) }},
				{"no protocol", errInvalid, func() error { s := missing; s.Protocol = ""; return tb.AddService(s) }},
				{"unknown flag", errInvalid, func() error { s := missing; s.Flags = []string{"bogus"}; return tb.AddService(s) }},
				{"add destination", nil, func() error { return tb.AddDestination(web, r1) }},
				{"add destination twice", ErrExist, func() error { return tb.AddDestination(web, r1) }},
				{"destination of missing service", ErrNotExist, func() error { return tb.AddDestination(missing, r1) }},
				{"edit destination of missing service", ErrNotExist, func() error { return tb.UpdateDestination(missing, r1) }},
				{"delete destination of missing service", ErrNotExist, func() error { return tb.DelDestination(missing, r1) }},
				{"edit missing destination", ErrNotExist, func() error { return tb.UpdateDestination(web, dst("10.0.0.9", 80, Masq, 1)) }},
				{"delete missing destination", ErrNotExist, func() error { return tb.DelDestination(web, dst("10.0.0.9", 80, Masq, 1)) }},
				{"other family without a tunnel", errInvalid, func() error { return tb.AddDestination(web, dst("2001:db8::2", 80, Masq, 1)) }},
				{"other family through a tunnel", nil, func() error { return tb.AddDestination(web, dst("2001:db8::2", 80, IPIP, 1)) }},
				{"negative weight", errRange, func() error { return tb.AddDestination(web, dst("10.0.0.9", 80, Masq, -1)) }},
				{"lower threshold without upper", errRange, func() error {
					return tb.AddDestination(web, Destination{Addr: netip.MustParseAddr("10.0.0.9"), Port: 80, Method: Masq, Lower: 5})
				}},
				{"edit destination", nil, func() error {
					return tb.UpdateDestination(web, Destination{Addr: r1.Addr, Port: 80, Method: Gate, Weight: 7, Upper: 9, Lower: 2})
				}},
				{"edit service", nil, func() error { s := web; s.Scheduler = "sh"; s.Flags = []string{"flag-1"}; return tb.UpdateService(s) }},
			}
			for _, st := range steps {
				err := st.call()
				if st.err == nil && err != nil || st.err != nil && !errors.Is(err, st.err) {
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
		})
	}
}

func TestTableListOrder(t *testing.T) {
	for name, tb := range tables(t) {
		t.Run(name, func(t *testing.T) {
			load(t, tb,
				vs(svcMark(3, true)),
				vs(svcTCP("10.0.0.10", 80), dst("10.0.0.20", 80, Masq, 1), dst("10.0.0.3", 80, Masq, 1)),
				vs(svcTCP("10.0.0.9", 80)),
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
		})
	}
}

func TestMemoryFailNext(t *testing.T) {
	m := NewMemory()
	boom := errors.New("boom")
	m.FailNext(2, boom)
	if _, err := m.List(); !errors.Is(err, boom) {
		t.Fatalf("List: got %v, want boom", err)
	}
	if err := m.AddService(svcTCP("10.0.0.1", 80)); !errors.Is(err, boom) {
		t.Fatalf("AddService: got %v, want boom", err)
	}
	if got, _ := m.List(); len(got) != 0 {
		t.Fatalf("a failed call changed the table: %v", got)
	}
	if err := m.AddService(svcTCP("10.0.0.1", 80)); err != nil {
		t.Fatalf("third call: %v, want success", err)
	}
	if m.Writes() != 1 {
		t.Errorf("Writes = %d, want 1", m.Writes())
	}
}

// TestTableConcurrent runs under -race: many goroutines write at once and
// none of their destinations is lost.
func TestTableConcurrent(t *testing.T) {
	for name, tb := range tables(t) {
		t.Run(name, func(t *testing.T) {
			web := svcTCP("10.0.0.1", 80)
			load(t, tb, vs(web))
			var wg sync.WaitGroup
			errs := make(chan error, 8*10*2)
			for g := range 8 {
				wg.Go(func() {
					for i := range 10 {
						d := dst(fmt.Sprintf("10.1.%d.%d", g, i), 80, Masq, 1)
						errs <- tb.AddDestination(web, d)
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
		})
	}
}
