package kernel

import (
	"errors"
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
