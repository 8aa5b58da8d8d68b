package plan

import "github.com/ldirectord-go/ldirectord/kernel"

// DropAbsentOptional removes from desired the optional destinations that
// are not in the actual table: with quiescent = yes and readdquiescent = no,
// a real server that went down and that someone removed by hand stays out.
func DropAbsentOptional(desired, actual []kernel.Virtual, optional []Ref) []kernel.Virtual {
	present := map[kernel.ServiceKey]map[kernel.DestKey]bool{}
	for _, v := range actual {
		m := map[kernel.DestKey]bool{}
		for _, d := range v.Destinations {
			m[d.Normalize(v.Service).Key()] = true
		}
		present[v.Service.Key()] = m
	}
	skip := map[kernel.ServiceKey]map[kernel.DestKey]bool{}
	for _, r := range optional {
		sk, dk := r.Service.Key(), r.Dest.Normalize(r.Service).Key()
		if present[sk][dk] {
			continue
		}
		if skip[sk] == nil {
			skip[sk] = map[kernel.DestKey]bool{}
		}
		skip[sk][dk] = true
	}
	if len(skip) == 0 {
		return desired
	}
	out := make([]kernel.Virtual, 0, len(desired))
	for _, v := range desired {
		s := skip[v.Service.Key()]
		if s == nil {
			out = append(out, v)
			continue
		}
		nv := kernel.Virtual{Service: v.Service}
		for _, d := range v.Destinations {
			if !s[d.Normalize(v.Service).Key()] {
				nv.Destinations = append(nv.Destinations, d)
			}
		}
		out = append(out, nv)
	}
	return out
}

// Retired holds the services that left the desired table (a reload dropped
// their virtual, or their configuration stopped) and that the next write
// of the table removes. A service nobody desires and that is not retired
// is not ours: the writer leaves it alone.
type Retired map[kernel.ServiceKey]bool

// Replaced retires the services of prev that next no longer holds.
func (r Retired) Replaced(prev, next []kernel.Virtual) {
	keep := ServiceKeys(next)
	for k := range ServiceKeys(prev) {
		if !keep[k] {
			r[k] = true
		}
	}
}

// Released retires the services of a configuration that stops: those of
// its last desired table (prev) and all those it names, which include
// services it adopted but never wrote, except those kept (cleanstop = no).
func (r Retired) Released(prev []kernel.Virtual, services, keep []kernel.Service) {
	kept := make(map[kernel.ServiceKey]bool, len(keep))
	for _, s := range keep {
		kept[s.Key()] = true
	}
	for k := range ServiceKeys(prev) {
		if !kept[k] {
			r[k] = true
		}
	}
	for _, s := range services {
		if k := s.Key(); !kept[k] {
			r[k] = true
		}
	}
}

// ServiceKeys is the set of the services of vs.
func ServiceKeys(vs []kernel.Virtual) map[kernel.ServiceKey]bool {
	m := make(map[kernel.ServiceKey]bool, len(vs))
	for _, v := range vs {
		m[v.Service.Key()] = true
	}
	return m
}
