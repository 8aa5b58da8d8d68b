package kernel

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// listCounter counts the reads of the table under a Cached.
type listCounter struct {
	*Memory
	lists int
}

func (l *listCounter) List() ([]Virtual, error) {
	l.lists++
	return l.Memory.List()
}

func newCachedForTest() (*Cached, *listCounter, *time.Time) {
	under := &listCounter{Memory: NewMemory()}
	c := NewCached(under, 5*time.Second)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	return c, under, &now
}

func mustEqualTable(t *testing.T, tb Table, want []Virtual) {
	t.Helper()
	got, err := tb.List()
	if err != nil {
		t.Fatal(err)
	}
	m := NewMemory()
	if _, err := Sync(m, want, nil); err != nil {
		t.Fatal(err)
	}
	norm, _ := m.List()
	if !reflect.DeepEqual(got, norm) {
		t.Fatalf("table:\n%v\nwant:\n%v", got, norm)
	}
}

func TestCachedReadsOnceWithinMaxAge(t *testing.T) {
	c, under, _ := newCachedForTest()
	one := []Virtual{{Service: svcTCP("10.0.0.1", 80), Destinations: []Destination{dst("10.1.0.1", 80, Masq, 1)}}}
	two := []Virtual{{Service: svcTCP("10.0.0.1", 80), Destinations: []Destination{dst("10.1.0.1", 80, Masq, 3), dst("10.1.0.2", 80, Masq, 1)}}}
	for i, want := range [][]Virtual{one, two, one, two} {
		changes, err := c.Sync(want, nil)
		if err != nil {
			t.Fatalf("Sync %d: %v", i, err)
		}
		if i > 0 && len(changes) == 0 {
			t.Fatalf("Sync %d made no change", i)
		}
		mustEqualTable(t, under.Memory, want)
	}
	if under.lists != 1 {
		t.Fatalf("the table was read %d times in four Syncs within MaxAge, want once", under.lists)
	}
	if changes, _ := c.Sync(two, nil); len(changes) != 0 {
		t.Fatalf("Sync of the table it has made %v", changes)
	}
}

func TestCachedFindsDriftAfterMaxAge(t *testing.T) {
	c, under, now := newCachedForTest()
	want := []Virtual{{Service: svcTCP("10.0.0.1", 80), Destinations: []Destination{dst("10.1.0.1", 80, Masq, 1)}}}
	if _, err := c.Sync(want, nil); err != nil {
		t.Fatal(err)
	}
	// Someone else removes the destination behind the copy's back.
	if err := under.Memory.DelDestination(want[0].Service, want[0].Destinations[0]); err != nil {
		t.Fatal(err)
	}
	if changes, _ := c.Sync(want, nil); len(changes) != 0 {
		t.Fatalf("within MaxAge the copy is trusted; got changes %v", changes)
	}
	*now = now.Add(5 * time.Second)
	changes, err := c.Sync(want, nil)
	if err != nil || len(changes) != 1 || changes[0].Op != OpAddDest {
		t.Fatalf("after MaxAge: %v, %v; want the destination added back", changes, err)
	}
	mustEqualTable(t, under.Memory, want)
	if under.lists != 2 {
		t.Fatalf("read %d times, want 2", under.lists)
	}
}

func TestCachedReadsAgainAfterAFailedWrite(t *testing.T) {
	c, under, _ := newCachedForTest()
	svc := svcTCP("10.0.0.1", 80)
	one := []Virtual{{Service: svc, Destinations: []Destination{dst("10.1.0.1", 80, Masq, 1)}}}
	two := []Virtual{{Service: svc, Destinations: []Destination{dst("10.1.0.1", 80, Masq, 1), dst("10.1.0.2", 80, Masq, 1)}}}
	if _, err := c.Sync(one, nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("netlink: no buffer space")
	under.FailNext(1, boom)
	if _, err := c.Sync(two, nil); !errors.Is(err, boom) {
		t.Fatalf("Sync with a failing write: %v, want %v", err, boom)
	}
	// Meanwhile the table changed under it; the next Sync must read it.
	if err := under.Memory.DelDestination(svc, one[0].Destinations[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(two, nil); err != nil {
		t.Fatal(err)
	}
	mustEqualTable(t, under.Memory, two)
	if under.lists != 2 {
		t.Fatalf("read %d times, want 2 (start, after the failure)", under.lists)
	}
}

func TestCachedListFailure(t *testing.T) {
	c, under, _ := newCachedForTest()
	boom := errors.New("netlink: permission denied")
	under.FailNext(1, boom)
	if _, err := c.Sync(nil, nil); !errors.Is(err, boom) {
		t.Fatalf("Sync when the table cannot be read: %v, want %v", err, boom)
	}
	if _, err := c.Sync(nil, nil); err != nil {
		t.Fatalf("Sync after the read failure: %v", err)
	}
}

// TestCachedMatchesSync drives a Cached and a plain Sync with the same
// random run of desired tables (weights flipping, destinations and services
// coming and going, services no longer desired but owned, someone else's
// change now and then, a write failing now and then): after every step
// both tables must be the same.
func TestCachedMatchesSync(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		plain := NewMemory()
		c, under, now := newCachedForTest()
		foreign := Virtual{Service: svcTCP("10.9.0.1", 80), Destinations: []Destination{dst("10.9.1.1", 80, Masq, 1)}}
		for _, tb := range []Table{plain, under.Memory} {
			if _, err := Sync(tb, []Virtual{foreign}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for step := range 60 {
			var desired []Virtual
			owned := map[ServiceKey]bool{}
			for s := range 6 {
				svc := svcTCP(fmt.Sprintf("10.0.0.%d", s+1), 80)
				if rng.IntN(5) == 0 {
					if rng.IntN(2) == 0 {
						owned[svc.Key()] = true // retired: to be removed
					}
					continue
				}
				if rng.IntN(4) == 0 {
					svc.Scheduler = "rr"
				}
				v := Virtual{Service: svc}
				for d := range 8 {
					if rng.IntN(3) == 0 {
						continue
					}
					v.Destinations = append(v.Destinations, dst(fmt.Sprintf("10.1.%d.%d", s, d+1), 80, Masq, rng.IntN(3)))
				}
				desired = append(desired, v)
			}
			own := func(k ServiceKey) bool { return owned[k] }
			switch rng.IntN(10) {
			case 0: // someone else removes a destination from both
				for _, tb := range []*Memory{plain, under.Memory} {
					vs, _ := tb.List()
					for _, v := range vs {
						if len(v.Destinations) > 0 && v.Service.Key() != foreign.Service.Key() {
							tb.DelDestination(v.Service, v.Destinations[0])
							break
						}
					}
				}
				*now = now.Add(5 * time.Second) // found at the next read
			case 1: // a write fails
				under.FailNext(1, errors.New("netlink: interrupted"))
			}
			Sync(plain, desired, own)
			if _, err := c.Sync(desired, own); err != nil {
				// The plain Sync saw no failure; run the same again, as
				// the writer retries.
				if _, err := c.Sync(desired, own); err != nil {
					t.Fatalf("seed %d step %d: retry: %v", seed, step, err)
				}
			}
			want, _ := plain.List()
			got, _ := under.Memory.List()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d step %d: cached table\n%v\nplain Sync's\n%v", seed, step, got, want)
			}
		}
	}
}
