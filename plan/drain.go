package plan

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// A drain takes a real server out gently: its weight goes to 0, so that
// no new connection goes to it while those it has finish, and it leaves
// the table (or stays at weight 0 with quiescent = yes) once it has no
// active connection left or its deadline passed. A drain is a file named
// for the real with the suffix DrainSuffix in the configuration's drain
// directory (its maintenancedir when it has one), so that it survives
// reloads and restarts and an operator can drain with a file as well as
// with the drain command.
const DrainSuffix = ".drain"

// DrainDir is where the drains of cfg are kept: its maintenancedir, or
// beside the pid files in stateDir.
func DrainDir(cfg *conf.Config, stateDir string) string {
	if cfg.Global.MaintenanceDir != "" {
		return cfg.Global.MaintenanceDir
	}
	if stateDir == "" {
		return ""
	}
	return filepath.Join(stateDir, "ldirectord."+cfg.Name+".drain")
}

// DrainFileNames are the file names that drain real r: address:port, then
// the address alone (every port of it).
func DrainFileNames(addr netip.Addr, port uint16) []string {
	return []string{netip.AddrPortFrom(addr, port).String() + DrainSuffix, addr.String() + DrainSuffix}
}

// ParseDrainFile reads a drain file's content: empty (no deadline), an
// RFC 3339 time (the deadline, as the drain command writes it), or a
// number of seconds or a duration ("300", "5m") counted from the file's
// mtime, for operators who write the file by hand.
func ParseDrainFile(content string, mtime time.Time) (deadline time.Time, err error) {
	s := strings.TrimSpace(content)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return mtime.Add(time.Duration(n) * time.Second), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return mtime.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("drain file holds %q: want nothing, an RFC 3339 deadline, or seconds or a duration from the file's time", s)
}

// Drain is one real server being drained.
type Drain struct {
	Since    time.Time `json:"since"`             // when the drain began
	Deadline time.Time `json:"deadline,omitzero"` // zero: none
	// Out is set once the real has left, At: Why says how (no
	// connections left, or the deadline).
	Out bool      `json:"out"`
	At  time.Time `json:"at,omitzero"`
	Why string    `json:"why,omitempty"`
}

// Step moves d on at now, the real having active connections in the
// table (present false: it is not in the table at all).
func (d Drain) Step(active uint32, present bool, now time.Time) Drain {
	if d.Out {
		return d
	}
	switch {
	case !present || active == 0:
		d.Out, d.At, d.Why = true, now, "no active connection left"
	case !d.Deadline.IsZero() && !now.Before(d.Deadline):
		d.Out, d.At, d.Why = true, now, fmt.Sprintf("deadline passed with %d active connection%s", active, plural(active))
	}
	return d
}

// Drains are the real servers being drained, by virtual.
type Drains map[conf.VirtualID]map[conf.RealID]Drain

// ApplyDrains changes the desired table vs of cfg (one kernel.Virtual per
// virtual, in order) for the drains: a real being drained is at weight 0,
// and one drained is out (at weight 0 with quiescent = yes). Only reals in
// the table are touched: a drained real that is down stays out.
func ApplyDrains(cfg *conf.Config, vs []kernel.Virtual, drains Drains) {
	for i, v := range cfg.Virtuals {
		m := drains[v.ID]
		if len(m) == 0 || i >= len(vs) {
			continue
		}
		kept := vs[i].Destinations[:0:0]
		for _, dst := range vs[i].Destinations {
			r := realAt(v, dst)
			d, ok := m[r]
			if !ok || r == "" {
				kept = append(kept, dst)
				continue
			}
			if d.Out && !v.Settings.Quiescent {
				continue
			}
			dst.Weight = 0
			kept = append(kept, dst)
		}
		vs[i].Destinations = kept
	}
}

// realAt is the real of v that destination d is, "" for none (the
// fallback).
func realAt(v *conf.Virtual, d kernel.Destination) conf.RealID {
	for _, r := range v.Reals {
		if want := Destination(v, r, 0); want.Addr == d.Addr && want.Port == d.Port {
			return r.ID
		}
	}
	return ""
}

func plural(n uint32) string {
	if n == 1 {
		return ""
	}
	return "s"
}
