package plan

import (
	"reflect"

	"github.com/ldirectord-go/ldirectord/conf"
)

// Diff is how a list of things with identities changed, matched by
// identity: a virtual service by its VirtualID, a real server by its RealID.
type Diff[T any] struct {
	Added   []T // in the new list only
	Removed []T // in the old list only
	Changed []T // in both, with other settings (the new value)
	Same    []T // in both, equal but for line numbers (the new value)
}

// diffByID compares old and new by the identity id gives, with equal
// telling whether a thing kept its settings.
func diffByID[T any, K comparable](old, new []T, id func(T) K, equal func(a, b T) bool) Diff[T] {
	var d Diff[T]
	before := make(map[K]T, len(old))
	for _, x := range old {
		before[id(x)] = x
	}
	seen := make(map[K]bool, len(new))
	for _, x := range new {
		seen[id(x)] = true
		o, ok := before[id(x)]
		switch {
		case !ok:
			d.Added = append(d.Added, x)
		case equal(o, x):
			d.Same = append(d.Same, x)
		default:
			d.Changed = append(d.Changed, x)
		}
	}
	for _, x := range old {
		if !seen[id(x)] {
			d.Removed = append(d.Removed, x)
		}
	}
	return d
}

// ConfigDiff is how a reloaded configuration differs from the running one,
// virtual service by virtual service.
type ConfigDiff = Diff[*conf.Virtual]

// DiffConfig compares two configurations by virtual identity; old may be
// nil.
func DiffConfig(old, new *conf.Config) ConfigDiff {
	var before []*conf.Virtual
	if old != nil {
		before = old.Virtuals
	}
	return diffByID(before, new.Virtuals, func(v *conf.Virtual) conf.VirtualID { return v.ID }, equalVirtual)
}

// RealDiff is how the real servers of a virtual differ after a reload.
type RealDiff = Diff[*conf.Real]

// DiffReals compares the real servers of two versions of one virtual by
// identity (address and port); weight, method and thresholds are edits.
func DiffReals(old, new *conf.Virtual) RealDiff {
	return diffByID(old.Reals, new.Reals, func(r *conf.Real) conf.RealID { return r.ID }, equalReal)
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
