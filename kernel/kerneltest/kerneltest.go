// Package kerneltest holds what tests of the daemon use to look at an IPVS
// table: a flat view of it and conditions on that view, so that the actor
// tests, the end-to-end tests and the VM tests ask the same questions the
// same way; the conformance tests every fake Table passes; and the
// 10,000-destination table the benchmarks of the writer's path measure.
package kerneltest

import "github.com/ldirectord-go/ldirectord/kernel"

// Weights flattens a table: each service's key maps to -1, and
// "<service key> <destination key>" to the destination's weight.
func Weights(vs []kernel.Virtual) map[string]int {
	m := map[string]int{}
	for _, v := range vs {
		k := string(v.Service.Key())
		m[k] = -1
		for _, d := range v.Destinations {
			m[k+" "+string(d.Key())] = d.Weight
		}
	}
	return m
}

// Cond is a question about a flattened table.
type Cond = func(map[string]int) bool

// Has: key is in the table with this weight (-1 for a service).
func Has(key string, weight int) Cond {
	return func(m map[string]int) bool { w, ok := m[key]; return ok && w == weight }
}

// Lacks: key is not in the table.
func Lacks(key string) Cond {
	return func(m map[string]int) bool { _, ok := m[key]; return !ok }
}

// All: every condition holds.
func All(conds ...Cond) Cond {
	return func(m map[string]int) bool {
		for _, c := range conds {
			if !c(m) {
				return false
			}
		}
		return true
	}
}

// Commands returns changes as the ipvsadm command lines they stand for,
// the form in which tests state the changes they expect.
func Commands(changes []kernel.Change) []string {
	out := make([]string, 0, len(changes))
	for _, c := range changes {
		out = append(out, c.String())
	}
	return out
}
