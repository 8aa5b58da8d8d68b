package plan

import (
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
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
}
