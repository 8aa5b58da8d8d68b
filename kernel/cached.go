package kernel

import (
	"fmt"
	"time"
)

// Cached syncs a Table against a copy of its contents, as last read and
// changed since, instead of reading the whole table back before every
// change. At 10,000 destinations a read costs tens of milliseconds, through
// netlink as through the file stand-in, and a real server that fails waits
// for it before it leaves the table.
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
	now    func() time.Time
}

// NewCached returns a Cached over t that reads t again every maxAge.
func NewCached(t Table, maxAge time.Duration) *Cached {
	return &Cached{Table: t, MaxAge: maxAge, now: time.Now}
}

// Invalidate makes the next List or Sync read the table.
func (c *Cached) Invalidate() { c.copy = nil }

// List returns the table as the copy has it, reading it first when the
// copy is missing or stale.
func (c *Cached) List() ([]Virtual, error) {
	if c.copy == nil || c.now().Sub(c.readAt) >= c.MaxAge {
		actual, err := c.Table.List()
		if err != nil {
			c.copy = nil
			return nil, err
		}
		st, err := fromVirtuals(actual)
		if err != nil {
			// A table that breaks the model's rules cannot be mirrored;
			// it is then read before every Sync, as without a copy.
			c.copy = nil
			return actual, nil
		}
		c.copy, c.readAt = &Memory{st: st}, c.now()
	}
	return c.copy.List()
}

// Sync is kernel.Sync against the copy: it compares the desired table with
// the copy, applies the difference to the table and, when every change was
// taken, to the copy too.
func (c *Cached) Sync(desired []Virtual, owned func(ServiceKey) bool) ([]Change, error) {
	actual, err := c.List()
	if err != nil {
		return nil, fmt.Errorf("read the IPVS table: %w", err)
	}
	changes := Diff(desired, actual, owned)
	if err := Apply(c.Table, changes); err != nil {
		c.copy = nil
		return changes, err
	}
	if c.copy != nil && apply(c.copy, changes) != nil {
		// The copy and the table disagreed after all: read it next time.
		c.copy = nil
	}
	return changes, nil
}
