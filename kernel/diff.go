package kernel

import (
	"slices"
)

// Diff returns the changes that turn the actual table into the desired one.
// It is pure: it reads its arguments and touches nothing.
//
// It touches only desired services and those for which owned reports true
// (a nil owned owns nothing); every other service in the actual table, and
// its destinations, stays as it is. A service or destination whose settings differ is edited in place,
// never deleted and added again, since that would drop its connections.
//
// The changes come in phases, each in the order of the services (IPv4
// before IPv6, addresses before firewall marks, then protocol, address,
// port or mark) and of the destinations (address, port):
//
//  1. destinations that are no longer desired, in services that stay, so
//     that a failed real server is out before anything is added;
//  2. owned services that are no longer desired: their destinations first,
//     then the service;
//  3. edits of services;
//  4. new services;
//  5. edits of destinations;
//  6. new destinations, after the service they belong to.
//
// Both sides are normalized first (see Service.Normalize), so a desired
// table equal to what the kernel holds gives no change. When a service or
// a destination is desired twice, the first one counts.
func Diff(desired, actual []Virtual, owned func(ServiceKey) bool) []Change {
	want := index(desired, true)
	have := index(actual, false)

	var dropDests, dropServices, editServices, addServices, editDests, addDests []Change
	for _, h := range have.order {
		hv := have.byKey[h]
		wv, wanted := want.byKey[h]
		if !wanted {
			if owned == nil || !owned(h) {
				continue
			}
			for _, d := range hv.Destinations {
				dropServices = append(dropServices, Change{Op: OpDelDest, Service: hv.Service, Destination: d})
			}
			dropServices = append(dropServices, Change{Op: OpDelService, Service: hv.Service})
			continue
		}
		wantDests := destIndex(wv.Destinations)
		for _, d := range hv.Destinations {
			if _, ok := wantDests[d.Key()]; !ok {
				dropDests = append(dropDests, Change{Op: OpDelDest, Service: wv.Service, Destination: d})
			}
		}
	}
	for _, w := range want.order {
		wv := want.byKey[w]
		hv, present := have.byKey[w]
		if !present {
			addServices = append(addServices, Change{Op: OpAddService, Service: wv.Service})
			for _, d := range wv.Destinations {
				addDests = append(addDests, Change{Op: OpAddDest, Service: wv.Service, Destination: d})
			}
			continue
		}
		if !sameSettings(wv.Service, hv.Service) {
			editServices = append(editServices, Change{Op: OpEditService, Service: wv.Service})
		}
		haveDests := destIndex(hv.Destinations)
		for _, d := range wv.Destinations {
			cur, ok := haveDests[d.Key()]
			switch {
			case !ok:
				addDests = append(addDests, Change{Op: OpAddDest, Service: wv.Service, Destination: d})
			case !sameDest(d, cur):
				editDests = append(editDests, Change{Op: OpEditDest, Service: wv.Service, Destination: d})
			}
		}
	}
	return slices.Concat(dropDests, dropServices, editServices, addServices, editDests, addDests)
}

// table is a list of virtual services indexed by key, normalized, sorted,
// without duplicates.
type table struct {
	order []ServiceKey
	byKey map[ServiceKey]Virtual
}

// index normalizes a table. Desired destinations take the port ipvsadm
// would give them; actual ones keep the port they have, so that they can be
// found and deleted.
func index(vs []Virtual, desired bool) table {
	t := table{byKey: make(map[ServiceKey]Virtual, len(vs))}
	for _, v := range vs {
		s := v.Service.Normalize()
		k := s.Key()
		if _, dup := t.byKey[k]; dup {
			continue
		}
		n := Virtual{Service: s, Destinations: make([]Destination, 0, len(v.Destinations))}
		seen := make(map[DestKey]bool, len(v.Destinations))
		for _, d := range v.Destinations {
			if desired {
				d = d.Normalize(s)
			} else {
				d = d.clean()
			}
			if dk := d.Key(); !seen[dk] {
				seen[dk] = true
				n.Destinations = append(n.Destinations, d)
			}
		}
		slices.SortFunc(n.Destinations, compareDests)
		t.byKey[k] = n
		t.order = append(t.order, k)
	}
	slices.SortFunc(t.order, func(a, b ServiceKey) int {
		return compareServices(t.byKey[a].Service, t.byKey[b].Service)
	})
	return t
}

func destIndex(ds []Destination) map[DestKey]Destination {
	m := make(map[DestKey]Destination, len(ds))
	for _, d := range ds {
		m[d.Key()] = d
	}
	return m
}
