package plan

import (
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// The states a real server is reported in (status --json, metrics): its
// health, or why it is in or out of the table whatever its health says.
const (
	StateUp          = "up"
	StateDown        = "down"
	StateUnknown     = "unknown"     // not checked yet
	StateQuiescent   = "quiescent"   // down, kept at weight 0 (quiescent = yes)
	StateMaintenance = "maintenance" // found in maintenancedir
	StateDraining    = "draining"    // drained by the operator, connections left
	StateDrained     = "drained"     // drained by the operator, out
	StateFallback    = "fallback"    // the fallback server, in while no real is up
)

// Inspection is everything the daemon knows of its real servers at one
// moment: the answer of status --json and what the metrics show.
type Inspection struct {
	Instances []InstanceInspection `json:"instances"`
}

// InstanceInspection is one running configuration.
type InstanceInspection struct {
	File     string              `json:"file"`
	Name     string              `json:"name"`
	Virtuals []VirtualInspection `json:"virtuals"`
}

// VirtualInspection is one virtual service.
type VirtualInspection struct {
	ID conf.VirtualID `json:"virtual"`
	// CheckType is the check its reals get (connect, negotiate http, ...).
	CheckType string           `json:"checktype"`
	FailOpen  *HeldTable       `json:"failopen,omitempty"`
	Reals     []RealInspection `json:"reals"`
	Fallback  *RealInspection  `json:"fallback,omitempty"`
}

// RealInspection is one real server of a virtual service.
type RealInspection struct {
	Real  conf.RealID `json:"real"`
	State string      `json:"state"`
	// Since is when the real server entered its health (up or down).
	Since time.Time `json:"since,omitzero"`
	// Weight is the configured weight; Wanted the weight the daemon wants
	// in the table and InTable the one the table holds (nil: out).
	Weight  int  `json:"weight"`
	Wanted  *int `json:"weight_wanted"`
	InTable *int `json:"weight_in_table"`
	// ActiveConns and InactiveConns are the kernel's counts for it.
	ActiveConns   uint32 `json:"active_connections"`
	InactiveConns uint32 `json:"inactive_connections"`
	// The last check: when it ended, how long it took, what it found;
	// Failures counts the failed checks in a row.
	LastCheck time.Time     `json:"last_check,omitzero"`
	Latency   time.Duration `json:"latency_ns"`
	Reason    string        `json:"reason"`
	Failures  int           `json:"consecutive_failures"`
	// Drain is the drain of the real, if one was asked for.
	Drain *Drain `json:"drain,omitempty"`
	// Service and Dest find the real in the kernel's table.
	Service kernel.ServiceKey `json:"-"`
	Dest    kernel.DestKey    `json:"-"`
}

// InspectTable fills in what the table holds for every real of ins: its
// weight there and its connections (conns may be nil: none counted).
func InspectTable(ins *Inspection, table []kernel.Virtual, conns map[kernel.ServiceKey]map[kernel.DestKey]kernel.Conns) {
	in := map[kernel.ServiceKey]map[kernel.DestKey]kernel.Destination{}
	for _, kv := range table {
		m := make(map[kernel.DestKey]kernel.Destination, len(kv.Destinations))
		for _, d := range kv.Destinations {
			m[d.Normalize(kv.Service).Key()] = d
		}
		in[kv.Service.Key()] = m
	}
	fill := func(r *RealInspection) {
		if d, ok := in[r.Service][r.Dest]; ok {
			w := d.Weight
			c := conns[r.Service][r.Dest]
			r.InTable, r.ActiveConns, r.InactiveConns = &w, c.Active, c.Inactive
		}
	}
	for i := range ins.Instances {
		for j := range ins.Instances[i].Virtuals {
			v := &ins.Instances[i].Virtuals[j]
			for k := range v.Reals {
				fill(&v.Reals[k])
			}
			if v.Fallback != nil {
				fill(v.Fallback)
			}
		}
	}
}

// InspectWanted fills in, for the reals of the virtuals of vi (those of
// cfg), the weight the desired table vs gives them, and their keys in the
// table; the state of a real being drained, and of the fallback while it
// is in.
func InspectWanted(cfg *conf.Config, vs []kernel.Virtual, vi []VirtualInspection, drains Drains) {
	for i, v := range cfg.Virtuals {
		if i >= len(vi) || i >= len(vs) {
			break
		}
		svc := Service(v)
		want := make(map[kernel.DestKey]int, len(vs[i].Destinations))
		for _, d := range vs[i].Destinations {
			want[d.Normalize(svc).Key()] = d.Weight
		}
		for k := range vi[i].Reals {
			ri := &vi[i].Reals[k]
			r := v.Real(ri.Real)
			if r == nil {
				continue
			}
			ri.Service, ri.Dest = svc.Key(), Destination(v, r, 0).Normalize(svc).Key()
			if w, ok := want[ri.Dest]; ok {
				ri.Wanted = &w
			}
			if d, ok := drains[v.ID][r.ID]; ok {
				ri.Drain = &d
				ri.State = StateDraining
				if d.Out {
					ri.State = StateDrained
				}
			}
		}
		if fb := vi[i].Fallback; fb != nil {
			if f := v.Fallback(); f != nil {
				fb.Service, fb.Dest = svc.Key(), Destination(v, f, 0).Normalize(svc).Key()
				if w, ok := want[fb.Dest]; ok {
					fb.Wanted = &w
					fb.State = StateFallback
				}
			}
		}
	}
}
