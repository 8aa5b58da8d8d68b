package plan

import (
	"net/netip"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// The kernel's sync daemon settings when none are given
// (ip_vs_sync.c): the multicast group, the port and the TTL.
var (
	syncDefaultGroup = netip.MustParseAddr("224.0.0.81")
)

const (
	syncDefaultPort = 8848
	syncDefaultTTL  = 1
)

// SyncStates are the states of sync daemon the kernel runs, at most one
// of each, in the order they are started.
var SyncStates = []string{kernel.SyncMaster, kernel.SyncBackup}

// SyncWanted is the sync daemons the syncdaemon directive of cfg asks
// for: none without it, a master and a backup for both.
func SyncWanted(cfg *conf.Config) []kernel.SyncDaemon {
	s := cfg.Global.SyncDaemon
	if s == nil {
		return nil
	}
	d := kernel.SyncDaemon{Interface: s.Interface, SyncID: s.SyncID, Group: s.Group, Port: s.Port, TTL: s.TTL, MaxLen: s.MaxLen}
	var out []kernel.SyncDaemon
	if s.State == conf.SyncMaster || s.State == conf.SyncBoth {
		d.State = kernel.SyncMaster
		out = append(out, d)
	}
	if s.State == conf.SyncBackup || s.State == conf.SyncBoth {
		d.State = kernel.SyncBackup
		out = append(out, d)
	}
	return out
}

// MergeSyncWanted joins the sync daemons several configurations want, in
// the order given: the kernel runs one of each state, so the first to ask
// for a state has it, and those of the same state with other settings are
// returned as dropped.
func MergeSyncWanted(lists ...[]kernel.SyncDaemon) (want, dropped []kernel.SyncDaemon) {
	have := map[string]kernel.SyncDaemon{}
	for _, l := range lists {
		for _, d := range l {
			prev, ok := have[d.State]
			switch {
			case !ok:
				have[d.State] = d
				want = append(want, d)
			case prev != d:
				dropped = append(dropped, d)
			}
		}
	}
	return want, dropped
}

// SameSyncDaemon says whether running, as the kernel lists it, is the
// sync daemon want asks for. A setting want leaves at zero matches the
// kernel's default, which the kernel may list as it is or as zero; a
// maxlen left at zero matches any, since the kernel works it out from the
// interface's MTU.
func SameSyncDaemon(want, running kernel.SyncDaemon) bool {
	return want.State == running.State && want.Interface == running.Interface && want.SyncID == running.SyncID &&
		orDefault(want.Group, running.Group, syncDefaultGroup) &&
		orDefault(want.Port, running.Port, syncDefaultPort) &&
		orDefault(want.TTL, running.TTL, syncDefaultTTL) &&
		(want.MaxLen == 0 || want.MaxLen == running.MaxLen)
}

// orDefault: want, or its default when zero, is running, or running is
// zero where want is.
func orDefault[T comparable](want, running, def T) bool {
	var zero T
	if want == zero {
		return running == zero || running == def
	}
	return want == running
}

// SyncOwned is a sync daemon the daemon started or adopted: the settings
// it wanted, and the daemon the kernel listed running for them, which
// may differ (a maxlen the kernel bounded by the MTU): a daemon that
// still runs as listed is still the one wanted, and is not replaced again.
type SyncOwned struct {
	Wanted, Running kernel.SyncDaemon
}

// SyncSteps are what brings the kernel's sync daemons to those wanted:
// stop Stop, then start Start. Adopt are running already as wanted and
// become the daemon's own; Keep were its own already and stay.
type SyncSteps struct {
	Stop  []kernel.SyncDaemon
	Start []kernel.SyncDaemon
	Adopt []kernel.SyncDaemon
	Keep  []kernel.SyncDaemon
}

// Empty says there is nothing to start or stop.
func (s SyncSteps) Empty() bool { return len(s.Stop) == 0 && len(s.Start) == 0 }

// PlanSyncDaemons decides, for each state, from the sync daemons wanted,
// those the kernel runs and those the daemon owns (started or adopted,
// by state): one running as wanted is adopted or kept, one running with
// other settings is replaced (stopped, then started as wanted), one
// missing is started. One the daemon owns and no longer wants is stopped;
// one it never owned and does not want (an operator's) is left alone.
// Wanted nil is the daemon's stop: it stops its own and nothing else.
func PlanSyncDaemons(wanted, running []kernel.SyncDaemon, owned map[string]SyncOwned) SyncSteps {
	var s SyncSteps
	for _, state := range SyncStates {
		w, wok := find(wanted, state)
		r, rok := find(running, state)
		o, ook := owned[state]
		ours := ook && rok && (o.Running == r || SameSyncDaemon(o.Wanted, r))
		switch {
		case !wok:
			if ours {
				s.Stop = append(s.Stop, r)
			}
		case !rok:
			s.Start = append(s.Start, w)
		case SameSyncDaemon(w, r) || (ook && o.Wanted == w && o.Running == r):
			if ours {
				s.Keep = append(s.Keep, r)
			} else {
				s.Adopt = append(s.Adopt, r)
			}
		default:
			s.Stop = append(s.Stop, r)
			s.Start = append(s.Start, w)
		}
	}
	return s
}

func find(ds []kernel.SyncDaemon, state string) (kernel.SyncDaemon, bool) {
	for _, d := range ds {
		if d.State == state {
			return d, true
		}
	}
	return kernel.SyncDaemon{}, false
}
