package plan

import (
	"reflect"

	"github.com/ldirectord-go/ldirectord/conf"
)

// ConfigDiff is how a reloaded configuration differs from the running one,
// virtual service by virtual service, matched by identity.
type ConfigDiff struct {
	Added   []*conf.Virtual // in the new configuration only
	Removed []*conf.Virtual // in the old configuration only
	Changed []*conf.Virtual // in both, with other settings (the new value)
	Same    []*conf.Virtual // in both, equal but for line numbers (the new value)
}

// DiffConfig compares two configurations by virtual identity.
func DiffConfig(old, new *conf.Config) ConfigDiff {
	var d ConfigDiff
	before := map[conf.VirtualID]*conf.Virtual{}
	if old != nil {
		for _, v := range old.Virtuals {
			before[v.ID] = v
		}
	}
	seen := map[conf.VirtualID]bool{}
	for _, v := range new.Virtuals {
		seen[v.ID] = true
		o, ok := before[v.ID]
		switch {
		case !ok:
			d.Added = append(d.Added, v)
		case equalVirtual(o, v):
			d.Same = append(d.Same, v)
		default:
			d.Changed = append(d.Changed, v)
		}
	}
	if old != nil {
		for _, v := range old.Virtuals {
			if !seen[v.ID] {
				d.Removed = append(d.Removed, v)
			}
		}
	}
	return d
}

// RealDiff is how the real servers of a virtual differ after a reload.
type RealDiff struct {
	Added   []*conf.Real
	Removed []*conf.Real
	Changed []*conf.Real // the new value
	Same    []*conf.Real // the new value
}

// DiffReals compares the real servers of two versions of one virtual by
// identity (address and port); weight, method and thresholds are edits.
func DiffReals(old, new *conf.Virtual) RealDiff {
	var d RealDiff
	before := map[conf.RealID]*conf.Real{}
	for _, r := range old.Reals {
		before[r.ID] = r
	}
	seen := map[conf.RealID]bool{}
	for _, r := range new.Reals {
		seen[r.ID] = true
		o, ok := before[r.ID]
		switch {
		case !ok:
			d.Added = append(d.Added, r)
		case equalReal(o, r):
			d.Same = append(d.Same, r)
		default:
			d.Changed = append(d.Changed, r)
		}
	}
	for _, r := range old.Reals {
		if !seen[r.ID] {
			d.Removed = append(d.Removed, r)
		}
	}
	return d
}

func equalReal(a, b *conf.Real) bool {
	x, y := *a, *b
	x.Line, y.Line = 0, 0
	return reflect.DeepEqual(x, y)
}

func equalVirtual(a, b *conf.Virtual) bool {
	if len(a.Reals) != len(b.Reals) {
		return false
	}
	for i := range a.Reals {
		if !equalReal(a.Reals[i], b.Reals[i]) {
			return false
		}
	}
	x, y := *a, *b
	x.Line, y.Line = 0, 0
	x.Reals, y.Reals = nil, nil
	x.Settings.Fallback, y.Settings.Fallback = nil, nil
	x.Settings.Fallback6, y.Settings.Fallback6 = nil, nil
	return reflect.DeepEqual(x, y) &&
		equalOptReal(a.Settings.Fallback, b.Settings.Fallback) &&
		equalOptReal(a.Settings.Fallback6, b.Settings.Fallback6)
}

func equalOptReal(a, b *conf.Real) bool {
	if a == nil || b == nil {
		return a == b
	}
	return equalReal(a, b)
}
