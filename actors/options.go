package actors

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// Options are the daemon's dependencies; zero fields take the defaults.
type Options struct {
	Log   *zap.Logger
	Table kernel.Table
	// Check runs one health check; checks.Run is the real one.
	Check checks.Func
	// Loop, when set, runs the checks it takes (connect, and http of a
	// path on the real) instead of Check, which then runs the others:
	// set only beside Check = checks.Run, whose verdicts it gives. Its
	// owner closes it after Daemon.Stop.
	Loop *checks.Loop
	// Load reads a configuration file; conf.Load is the real one.
	Load func(path string) (*conf.Config, error)
	// Resync is how often the writer reads the table back to repair drift
	// (default 5s; between reads it writes against its copy, see
	// kernel.Cached); Coalesce is how long it waits for updates arriving
	// together (default 5ms: a write itself takes longer, and what arrives
	// during it is taken in the next).
	Resync   time.Duration
	Coalesce time.Duration
	// BackoffMax bounds the wait between retries after a failed write
	// (default 10s).
	BackoffMax time.Duration
	// ReadyWrite is how long Daemon.Ready waits, beyond the start grace
	// time, for a failing first write of the table to succeed (default
	// 20s).
	ReadyWrite time.Duration
	// StateDir is where the pid files are: a configuration without a
	// maintenancedir keeps its drains beside them (plan.DrainDir).
	StateDir string
	// Hostname goes into alert mails; LookupAddr finds the names a
	// maintenancedir file may use.
	Hostname   string
	LookupAddr func(ctx context.Context, addr string) ([]string, error)
	// SideEffectTimeout bounds fallbackcommand, callback and mail
	// (default 30s).
	SideEffectTimeout time.Duration
	// Sendmail takes alert mails when no smtp server is configured
	// (default /usr/sbin/sendmail, called with -t -i).
	Sendmail string
	// Observer is told what the daemon does, for metrics (default: no
	// one).
	Observer Observer

	// gate holds checks back while the daemon is short of CPU.
	gate *gate
	// faults logs the checks that failed for the director's own
	// shortage of resources, once a burst.
	faults *directorFaults
	// shared holds the verdicts the configurations with sharedchecks
	// share.
	shared *sharedChecks
	// statusChanged is poked (never blocking) when a report reached the
	// root, for Daemon.StatusChanged.
	statusChanged chan struct{}
	// middleware runs before every actor's Receive. Tests put their
	// hooks here (a message that makes an actor panic, one that asks it
	// for its children), so that no production Receive handles them.
	middleware []actor.ReceiverMiddleware
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Resync <= 0 {
		o.Resync = 5 * time.Second
	}
	if o.Coalesce <= 0 {
		o.Coalesce = 5 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Second
	}
	if o.ReadyWrite <= 0 {
		o.ReadyWrite = 20 * time.Second
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Sendmail == "" {
		o.Sendmail = "/usr/sbin/sendmail"
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.SideEffectTimeout <= 0 {
		o.SideEffectTimeout = 30 * time.Second
	}
	return o
}

// Observer is told what the daemon does as it does it, for metrics. Its
// methods are called from many goroutines, on the daemon's hot paths: they
// must be safe for concurrent use, cheap, and never block.
type Observer interface {
	// CheckDone: a check of a real server of virtual, of the check type
	// named (as plan.CheckKind gives it), ended with res (res.Duration set).
	CheckDone(virtual conf.VirtualID, check string, res checks.Result)
	// TableWritten: the writer brought the table in step with changes
	// changes (0: none were needed), in took, or failed with err.
	TableWritten(changes int, took time.Duration, err error)
	// DriftRepaired: a read of the table found changes made under the
	// daemon (by hand, by another program) and changes put them right.
	DriftRepaired(changes int)
	// GateChanged: the admission gate's limit on checks in flight (0:
	// none, the daemon has CPU enough) and the checks in flight, at every
	// sample of the gate.
	GateChanged(limit, inFlight int)
}

type nopObserver struct{}

func (nopObserver) CheckDone(conf.VirtualID, string, checks.Result) {}
func (nopObserver) TableWritten(int, time.Duration, error)          {}
func (nopObserver) DriftRepaired(int)                               {}
func (nopObserver) GateChanged(int, int)                            {}
