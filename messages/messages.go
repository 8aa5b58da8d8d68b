// Package messages owns the messages the daemon's actors exchange: plain
// structs without behaviour. Each says who sends it and who takes it.
package messages

import (
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/plan"
)

// Desired is an instance's whole desired table, sent to the IPVS writer
// after every change. The writer keeps the latest one per Owner.
type Desired struct {
	Owner    string
	Virtuals []kernel.Virtual
	// Optional destinations are kept when present and not put back when
	// absent (quiescent without readdquiescent).
	Optional []plan.Ref
}

// DesiredTaken answers a Desired sent as a request: the writer holds it.
// An instance keeps at most one Desired on its way, so that a writer busy
// with a long write does not collect a whole table's copy per health
// change in its mailbox.
type DesiredTaken struct {
	Owner string
}

// Release is an instance's last word to the writer as it stops: its
// services are removed from the table, except those in Keep (cleanstop = no),
// which are left as they are and forgotten.
type Release struct {
	Owner string
	// Services are all of the instance's services, so that those it
	// adopted but never wrote are removed too.
	Services []kernel.Service
	Keep     []kernel.Service
}

// Flush asks the writer to apply what it holds now; it answers Flushed.
type Flush struct{}

// Flushed answers Flush with the outcome of the apply.
type Flushed struct{ Err error }

// Reload asks an instance to switch to a new configuration (from SIGHUP,
// the reload command or the file watcher); it answers Reloaded.
type Reload struct{ Config *conf.Config }

// ReloadAll asks the root to run exactly these configurations (the one
// named on the command line and those of its execute directives): running
// instances of the same files reload, new files get an instance, instances
// of files no longer named stop. It is answered with Reloaded.
type ReloadAll struct{ Configs []*conf.Config }

// Reloaded answers Reload.
type Reloaded struct{ Err error }

// ReloadFile asks an instance to read its configuration file again and
// reload it, refusing a file that does not parse; it answers Reloaded.
type ReloadFile struct{}

// FileChanged is sent by a file watcher to its instance when the
// configuration file changed on disk with a newer mtime.
type FileChanged struct{ Path string }

// UpdateVirtual is sent by an instance to a virtual actor on reload, with
// the new settings of its virtual service.
type UpdateVirtual struct{ Virtual *conf.Virtual }

// UpdateReal is sent by a virtual actor to a prober on reload.
type UpdateReal struct {
	Virtual *conf.Virtual
	Real    *conf.Real
}

// Checked is sent by a prober to its virtual actor after every check.
type Checked struct {
	Real       conf.RealID
	State      plan.RealState
	Transition plan.Transition
	Result     checks.Result
	// Maintenance says the real was found in maintenancedir: taken out
	// on purpose, not failed.
	Maintenance bool
}

// RealChanged is sent by a virtual actor to its instance when one of its
// real servers went up or down: one entry, never the whole map.
type RealChanged struct {
	Virtual conf.VirtualID
	Real    conf.RealID
	Status  plan.Status
	// Returned says it came up from down (not from its first check):
	// slowstart ramps its weight. Maintenance says it went down because
	// an operator put it into maintenance, which failopen never holds.
	Returned    bool
	Maintenance bool
}

// Shutdown asks the root (and the root asks each instance) to stop; the
// answer is Stopped once the table is left as cleanstop says.
type Shutdown struct{}

// Stopped answers Shutdown.
type Stopped struct{ Err error }

// Status asks the root for the latest report of every instance; it
// answers at once with a *StatusReports, from the reports the instances
// sent it, without asking them.
type Status struct{}

// StatusReports answers Status, in the order of the instances.
type StatusReports struct{ Reports []*plan.Report }

// Reported is sent by an instance to the root after the health of its real
// servers or fallbacks changed, a few at a time.
type Reported struct {
	File   string // the configuration's file, which names its instance
	Report *plan.Report
}

// FallbackChecked is sent by a virtual actor to its instance when its
// fallback server went up or down, or (Status Unknown) when it has none
// any more.
type FallbackChecked struct {
	Virtual conf.VirtualID
	plan.FallbackState
}

// ReadTable asks the writer for the table as the kernel holds it now, and
// its connection counts where the table keeps them; it answers TableRead.
type ReadTable struct{}

// TableRead answers ReadTable. Conns is nil where the table counts no
// connections (the file table).
type TableRead struct {
	Virtuals []kernel.Virtual
	Conns    map[kernel.ServiceKey]map[kernel.DestKey]kernel.Conns
	Err      error
}

// Inspect asks the root for a plan.Inspection of every instance, and the
// root asks each instance for its own; the answer is Inspected.
type Inspect struct{}

// Inspected answers Inspect: the root's answer holds every instance, an
// instance's its own, and a virtual actor's its one virtual.
type Inspected struct {
	Instances []plan.InstanceInspection
	Virtual   plan.VirtualInspection
}

// AwaitApplied asks the root when the table first holds the desired state
// of every running instance; the root fills Owners and passes it to the
// writer, which answers Applied once a table holding the desired state of
// every one of Owners was written, or with the write error when writing
// still fails after Deadline.
type AwaitApplied struct {
	Owners   []string
	Deadline time.Time
}

// Applied answers AwaitApplied.
type Applied struct{ Err error }

// SyncWanted is sent by an instance to the IPVS writer when it starts and
// at every reload: the kernel sync daemons its configuration's syncdaemon
// directive asks for (nil: none). The writer keeps the latest per Owner,
// and forgets it at the owner's Release.
type SyncWanted struct {
	Owner   string
	Daemons []kernel.SyncDaemon
}

// LeaveSyncDaemons asks the writer, through the root, to leave the sync
// daemons running when the daemon stops: it is restarting, and the daemon
// that follows adopts them. The writer answers SyncDaemonsLeft.
type LeaveSyncDaemons struct{}

// SyncDaemonsLeft answers LeaveSyncDaemons.
type SyncDaemonsLeft struct{}
