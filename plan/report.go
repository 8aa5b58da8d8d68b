package plan

import (
	"net/netip"

	"github.com/ldirectord-go/ldirectord/conf"
)

// Report is what a running configuration knows of its real servers: the
// answer of the status command. It is a snapshot, never changed once made.
type Report struct {
	// Name is the configuration's name (its file's base name).
	Name string
	// Health holds every real server of the configuration, those not yet
	// checked as Unknown.
	Health Health
	// Fallbacks are the fallback servers checked at least once, by
	// virtual.
	Fallbacks map[conf.VirtualID]FallbackState
}

// FallbackState is the last verdict on a virtual's fallback server, which
// is reported (log, status) and never changes the table.
type FallbackState struct {
	Fallback netip.AddrPort
	Status   Status
	Reason   string
}

// NewReport snapshots the health of cfg's real servers and its fallbacks.
func NewReport(cfg *conf.Config, h Health, fallbacks map[conf.VirtualID]FallbackState) *Report {
	r := &Report{Name: cfg.Name, Health: make(Health, len(cfg.Virtuals)), Fallbacks: make(map[conf.VirtualID]FallbackState, len(fallbacks))}
	for _, v := range cfg.Virtuals {
		m := make(map[conf.RealID]Status, len(v.Reals))
		for _, real := range v.Reals {
			m[real.ID] = h[v.ID][real.ID]
		}
		r.Health[v.ID] = m
	}
	for id, fb := range fallbacks {
		r.Fallbacks[id] = fb
	}
	return r
}
