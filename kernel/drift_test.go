package kernel

import "testing"

// TestCachedDrift: Drift counts the changes of a Sync after a scheduled read
// that undo what others did to the table, not those the daemon wants anew,
// and nothing on the first read or when nobody touched the table.
func TestCachedDrift(t *testing.T) {
	c, under, now := newCachedForTest()
	svc := svcTCP("10.0.0.1", 80)
	a, b := dst("10.1.0.1", 80, Masq, 1), dst("10.1.0.2", 80, Masq, 1)
	want := []Virtual{{Service: svc, Destinations: []Destination{a, b}}}
	sync := func(desired []Virtual) (changes, drift int) {
		t.Helper()
		ch, err := c.Sync(desired, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(ch), c.Drift()
	}
	if n, d := sync(want); n != 3 || d != 0 {
		t.Fatalf("first Sync: %d changes, drift %d; want 3 and no drift (nothing to compare with)", n, d)
	}
	*now = now.Add(c.MaxAge)
	if n, d := sync(want); n != 0 || d != 0 {
		t.Fatalf("read of an untouched table: %d changes, drift %d; want none", n, d)
	}

	// An operator removes a; at the same read the daemon wants b at weight 0.
	if err := under.Memory.DelDestination(svc, a); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(c.MaxAge)
	b0 := b
	b0.Weight = 0
	if n, d := sync([]Virtual{{Service: svc, Destinations: []Destination{a, b0}}}); n != 2 || d != 1 {
		t.Fatalf("drift and a new desire together: %d changes, drift %d; want 2 changes, 1 of them drift", n, d)
	}
	if n, d := sync([]Virtual{{Service: svc, Destinations: []Destination{a, b}}}); n != 1 || d != 0 {
		t.Fatalf("a Sync within MaxAge: %d changes, drift %d; want 1 change, no drift", n, d)
	}

	// A read by List before the Sync still compares with the last Sync.
	if err := under.Memory.DelDestination(svc, b); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(c.MaxAge)
	if _, err := c.List(); err != nil {
		t.Fatal(err)
	}
	if n, d := sync(want); n != 1 || d != 1 {
		t.Fatalf("drift found by a List: %d changes, drift %d; want 1 and 1", n, d)
	}
}
