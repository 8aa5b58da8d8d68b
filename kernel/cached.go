package kernel

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// Cached syncs a Table against a copy of its contents, as last read and
// changed since, instead of reading the whole table back before every
// change; and it compares only the services whose desired state changed
// since the last Sync. At 10,000 destinations a read costs tens of
// milliseconds, through netlink as through the file stand-in, and a whole
// Diff several more, while a real server that fails waits for both before
// it leaves the table.
//
// The copy is read again when it is older than MaxAge, so that what others
// change in the table (an operator's ipvsadm, a restarted daemon) is still
// found and repaired within MaxAge, as a read before every Sync found it;
// and after any write that failed, since the table is then partly changed.
// Cached is not safe for concurrent use: the IPVS writer alone holds it.
type Cached struct {
	Table  Table
	MaxAge time.Duration

	copy   *Memory // nil: read the table at the next Sync
	readAt time.Time
	// synced is the desired table of the last Sync, by service, which
	// the copy held after it; nil after a read, when every service is
	// compared.
	synced map[ServiceKey]Virtual
	// baseline is synced as it was when a scheduled read replaced the copy
	// that held it: what the table held as far as the daemon knew, against
	// which the next Sync tells changes made by others from its own.
	baseline map[ServiceKey]Virtual
	drift    int
	now      func() time.Time
}

// NewCached returns a Cached over t that reads t again every maxAge.
func NewCached(t Table, maxAge time.Duration) *Cached {
	return &Cached{Table: t, MaxAge: maxAge, now: time.Now}
}

// invalidate makes the next List or Sync read the table.
func (c *Cached) invalidate() { c.copy, c.synced, c.baseline = nil, nil, nil }

// Drift is how many changes of the last Sync put back what others changed
// in the table (an operator's ipvsadm, another program) since the Sync
// before: 0 unless that Sync followed a scheduled read of the table. The
// first read, and a read after a failed write, know of nothing to compare
// with, and count no drift.
func (c *Cached) Drift() int { return c.drift }

// refresh reads the table when the copy is missing or stale. A table that
// breaks the model's rules cannot be copied; it is returned as read, and
// the copy stays missing, so that every Sync reads it, as without a copy.
func (c *Cached) refresh() (unmirrored []Virtual, err error) {
	if c.copy != nil && c.now().Sub(c.readAt) < c.MaxAge {
		return nil, nil
	}
	baseline := c.synced
	if baseline == nil {
		baseline = c.baseline // a List read it since the last Sync
	}
	c.invalidate()
	c.baseline = baseline
	actual, err := c.Table.List()
	if err != nil {
		return nil, err
	}
	st, err := fromVirtuals(actual)
	if err != nil {
		return actual, nil
	}
	c.copy, c.readAt = &Memory{st: st}, c.now()
	return nil, nil
}

// List returns the table as the copy has it, reading it first when the
// copy is missing or stale.
func (c *Cached) List() ([]Virtual, error) {
	unmirrored, err := c.refresh()
	if err != nil || c.copy == nil {
		return unmirrored, err
	}
	return c.copy.List()
}

// Sync is kernel.Sync against the copy: it compares the desired table with
// the copy, applies the difference to the table and, when every change was
// taken, to the copy too.
func (c *Cached) Sync(desired []Virtual, owned func(ServiceKey) bool) ([]Change, error) {
	c.drift = 0
	unmirrored, err := c.refresh()
	if err != nil {
		return nil, fmt.Errorf("read the IPVS table: %w", err)
	}
	baseline := c.baseline
	c.baseline = nil
	if c.copy == nil {
		changes := Diff(desired, unmirrored, owned)
		return changes, Apply(c.Table, changes)
	}
	byKey := make(map[ServiceKey]Virtual, len(desired))
	for _, v := range desired {
		byKey[v.Service.Key()] = v
	}
	// A service twice in the desired table: Diff merges the two, which
	// synced cannot tell from one, so everything is compared every time.
	twice := len(byKey) != len(desired)
	touched := c.touched(byKey, owned, twice)
	if touched != nil {
		desired = slices.DeleteFunc(slices.Clone(desired), func(v Virtual) bool { return !touched[v.Service.Key()] })
	}
	changes := Diff(desired, c.copy.st.listOnly(touched), owned)
	if len(changes) > 0 && baseline != nil {
		c.drift = drifted(changes, baseline, c.copy.st.listOnly(nil), owned)
	}
	if err := Apply(c.Table, changes); err != nil {
		c.drift = 0
		c.invalidate()
		return changes, err
	}
	c.synced = byKey
	if twice {
		c.synced = nil
	}
	if apply(c.copy, changes) != nil {
		// The copy and the table disagreed after all: read it next time.
		c.invalidate()
	}
	return changes, nil
}

// touched returns the services to compare: those whose desired state
// changed since the last Sync, those no longer desired, and those owned in
// the table but not desired. Nil means all of them.
func (c *Cached) touched(byKey map[ServiceKey]Virtual, owned func(ServiceKey) bool, twice bool) map[ServiceKey]bool {
	if c.synced == nil || twice {
		return nil
	}
	touched := map[ServiceKey]bool{}
	for k, v := range byKey {
		if prev, ok := c.synced[k]; !ok || !sameVirtual(prev, v) {
			touched[k] = true
		}
	}
	for k := range c.synced {
		if _, ok := byKey[k]; !ok {
			touched[k] = true
		}
	}
	if owned != nil {
		for k := range c.copy.st.services {
			if _, ok := byKey[k]; !ok && owned(k) {
				touched[k] = true
			}
		}
	}
	return touched
}

// sameVirtual reports whether two desired virtual services are the same,
// field by field and destination by destination, in order.
// A difference that does not matter (nil or empty flags) only costs a
// comparison.
func sameVirtual(a, b Virtual) bool {
	return reflect.DeepEqual(a.Service, b.Service) && slices.Equal(a.Destinations, b.Destinations)
}

// drifted counts the changes that would also have been made had the
// desired table not changed since baseline was in the table: those that
// undo what others did to it, not what the daemon now wants anew. Only a
// read that found the table different from the copy pays for the second
// Diff.
func drifted(changes []Change, baseline map[ServiceKey]Virtual, actual []Virtual, owned func(ServiceKey) bool) int {
	was := make([]Virtual, 0, len(baseline))
	for _, v := range baseline {
		was = append(was, v)
	}
	undo := map[string]bool{}
	for _, c := range Diff(was, actual, owned) {
		undo[c.String()] = true
	}
	n := 0
	for _, c := range changes {
		if undo[c.String()] {
			n++
		}
	}
	return n
}
