package plan

import (
	"net/netip"
	"time"

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
	// FailOpen holds, by virtual, since when its table is held
	// (failopen), and how many of its reals went down together.
	FailOpen map[conf.VirtualID]HeldTable
}

// HeldTable is a virtual whose table failopen holds.
type HeldTable struct {
	Since  time.Time `json:"since"`
	Failed int       `json:"failed"`
}

// FallbackState is the last verdict on a virtual's fallback server, which
// is reported (log, status) and never changes the table.
type FallbackState struct {
	Fallback netip.AddrPort
	Status   Status
	Reason   string
}

// NewReport snapshots the health of cfg's real servers and its fallbacks.
// The virtuals that prev (the last report of the same configuration, or
// nil) holds and that are not dirty are taken from it as they are: a
// report is never changed, so they can be shared, and a change of one real
// copies one virtual, not the whole configuration.
func NewReport(cfg *conf.Config, h Health, fallbacks map[conf.VirtualID]FallbackState, held map[conf.VirtualID]FailOpen, prev *Report, dirty map[conf.VirtualID]bool) *Report {
	r := &Report{Name: cfg.Name, Health: make(Health, len(cfg.Virtuals)), Fallbacks: make(map[conf.VirtualID]FallbackState, len(fallbacks))}
	for id, f := range held {
		if f.Held() {
			if r.FailOpen == nil {
				r.FailOpen = map[conf.VirtualID]HeldTable{}
			}
			r.FailOpen[id] = HeldTable{Since: f.Since, Failed: len(f.Downs)}
		}
	}
	for _, v := range cfg.Virtuals {
		if m, ok := prev.virtual(v.ID); ok && !dirty[v.ID] {
			r.Health[v.ID] = m
			continue
		}
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

func (r *Report) virtual(id conf.VirtualID) (map[conf.RealID]Status, bool) {
	if r == nil {
		return nil, false
	}
	m, ok := r.Health[id]
	return m, ok
}
