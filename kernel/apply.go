package kernel

import (
	"errors"
	"fmt"
)

// Apply makes the changes on the table, in order, and tolerates a table
// that is not quite what the changes expect: an add that meets ErrExist
// becomes an edit, an edit that meets ErrNotExist becomes an add, and a
// delete of what is already gone succeeds. It goes on past errors and
// returns them all, joined, each naming its change; the table is then
// partly changed, and the next List, Diff and Apply repair the rest.
//
// When a service cannot be added, the destinations added to it later in
// the list are skipped with one error rather than one each.
//
// A table that can batch takes all the changes in one batch: the file
// table (internal/tablefile) rewrites its whole file per batch.
func Apply(t Table, changes []Change) error {
	if b, ok := t.(batcher); ok && len(changes) > 0 {
		return b.Batch(func(t Table) error { return apply(t, changes) })
	}
	return apply(t, changes)
}

// batcher is a table that can take many changes at the cost of one.
type batcher interface {
	Batch(func(Table) error) error
}

func apply(t Table, changes []Change) error {
	var errs []error
	failed := map[ServiceKey]int{}
	for _, c := range changes {
		k := c.Service.Key()
		if _, ok := failed[k]; ok && (c.Op == OpAddDest || c.Op == OpEditDest) {
			failed[k]++
			continue
		}
		if err := applyOne(t, c); err != nil {
			errs = append(errs, fmt.Errorf("ipvsadm %s: %w", c, err))
			if c.Op == OpAddService {
				failed[k] = 0
			}
		}
	}
	for k, n := range failed {
		if n > 0 {
			errs = append(errs, fmt.Errorf("skipped %d destination changes of service %s, which could not be added", n, k))
		}
	}
	return errors.Join(errs...)
}

func applyOne(t Table, c Change) error {
	switch c.Op {
	case OpAddService:
		return retry(t.AddService(c.Service), ErrExist, "exists", func() error { return t.UpdateService(c.Service) })
	case OpEditService:
		return retry(t.UpdateService(c.Service), ErrNotExist, "is missing", func() error { return t.AddService(c.Service) })
	case OpDelService:
		return gone(t.DelService(c.Service))
	case OpAddDest:
		return retry(t.AddDestination(c.Service, c.Destination), ErrExist, "exists",
			func() error { return t.UpdateDestination(c.Service, c.Destination) })
	case OpEditDest:
		return retry(t.UpdateDestination(c.Service, c.Destination), ErrNotExist, "is missing",
			func() error { return t.AddDestination(c.Service, c.Destination) })
	case OpDelDest:
		return gone(t.DelDestination(c.Service, c.Destination))
	}
	return fmt.Errorf("unknown operation %q", c.Op)
}

// retry runs other when err is the expected kind of surprise.
func retry(err, kind error, why string, other func() error) error {
	if !errors.Is(err, kind) {
		return err
	}
	if err := other(); err != nil {
		return fmt.Errorf("it %s, and the other way failed too: %w", why, err)
	}
	return nil
}

// gone makes the deletion of something already absent a success.
func gone(err error) error {
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	return err
}

// Sync reads the table, compares it with the desired one and applies the
// difference (see Diff and Apply). It returns the changes it tried. At
// start-up this is adoption: services already in the table are kept, and
// only what differs changes.
func Sync(t Table, desired []Virtual, owned func(ServiceKey) bool) ([]Change, error) {
	actual, err := t.List()
	if err != nil {
		return nil, fmt.Errorf("read the IPVS table: %w", err)
	}
	changes := Diff(desired, actual, owned)
	return changes, Apply(t, changes)
}
