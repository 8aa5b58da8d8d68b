package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	cmap "github.com/orcaman/concurrent-map"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

func init() {
	// protoactor's process registry is 1,024 concurrent maps of
	// SHARD_COUNT shards each, all made with the actor system: at the
	// library's 32, 32,768 maps and 3 MB before the first actor, more
	// than a small director's whole heap. The 1,024 buckets spread the
	// locks already; a shard each is enough. Nothing else in the daemon
	// uses that package, and none of its maps is made before this runs
	// (NewActorSystem makes the registry's).
	cmap.SHARD_COUNT = 1
}

// Daemon is a running actor system with its supervisor tree: the face of
// package actors that cmd drives.
type Daemon struct {
	system *actor.ActorSystem
	root   *actor.PID
	sub    *eventstream.Subscription
	log    *zap.Logger
	// grace is the longest start grace time of the configurations.
	grace         time.Duration
	backoffMax    time.Duration
	readyWrite    time.Duration
	gate          *gate
	statusChanged chan struct{}
}

// Start builds the tree for the configurations given (the one named on the
// command line first, then those of its execute directives) and starts
// checking. opts.Table and opts.Check are required.
func Start(opts Options, cfgs ...*conf.Config) (*Daemon, error) {
	if opts.Table == nil || opts.Check == nil {
		return nil, errors.New("actors.Start: a Table and a Check function are required")
	}
	if len(cfgs) == 0 {
		return nil, errors.New("actors.Start: no configuration")
	}
	opts = opts.withDefaults()
	opts.gate = newGate(opts.Log, opts.Observer)
	opts.statusChanged = make(chan struct{}, 1)
	opts.shared = newSharedChecks()
	opts.faults = newDirectorFaults(opts.Log)
	go opts.gate.run()
	quiet := func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }
	sys := actor.NewActorSystem(actor.WithLoggerFactory(quiet))
	d := &Daemon{system: sys, log: opts.Log, backoffMax: opts.BackoffMax, readyWrite: opts.ReadyWrite,
		gate: opts.gate, statusChanged: opts.statusChanged}
	for _, c := range cfgs {
		d.grace = max(d.grace, plan.StartGrace(c))
	}
	d.sub = sys.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			d.log.Warn("actor failed", zap.String("actor", e.Child.Id), zap.String("reason", fmt.Sprint(e.Reason)), zap.String("directive", e.Directive.String()))
		}
	})
	d.root = sys.Root.Spawn(props(opts, newRoot(opts, cfgs), instanceRestarts))
	return d, nil
}

// Ready waits until the table holds the desired state of every
// configuration the daemon started with: their virtual services are in it
// (real servers join as their first checks pass). That is after the first
// checks, or the start grace time. It returns the write error when the
// table still cannot be written Options.ReadyWrite after that.
func (d *Daemon) Ready() error {
	wait := d.grace + d.readyWrite
	msg := &messages.AwaitApplied{Deadline: time.Now().Add(wait)}
	// The writer answers at its first failed retry past the deadline.
	res, err := d.system.Root.RequestFuture(d.root, msg, wait+d.backoffMax+askTimeout).Result()
	if err != nil {
		return fmt.Errorf("wait for the first write of the IPVS table: %w", err)
	}
	if err := res.(*messages.Applied).Err; err != nil {
		return fmt.Errorf("the IPVS table could not be written within %v of start: %w", wait, err)
	}
	return nil
}

// Reload reads every configuration file again and applies what changed. A
// file that does not parse is refused and its instance keeps running.
func (d *Daemon) Reload() error {
	return d.reload(&messages.ReloadFile{})
}

// ReloadAll runs exactly the configurations given: those already running
// reload, new ones start, the others stop (as cleanstop says).
func (d *Daemon) ReloadAll(cfgs ...*conf.Config) error {
	return d.reload(&messages.ReloadAll{Configs: cfgs})
}

// ReloadConfig applies cfg to the running instance of the same file.
func (d *Daemon) ReloadConfig(cfg *conf.Config) error {
	return d.reload(&messages.Reload{Config: cfg})
}

func (d *Daemon) reload(msg any) error {
	res, err := d.system.Root.RequestFuture(d.root, msg, 2*askTimeout).Result()
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	return res.(*messages.Reloaded).Err
}

// Status is the latest report of every configuration, in the order they
// were started; a configuration reports a moment after its real servers'
// health changed. Reports are snapshots: the caller may keep them.
func (d *Daemon) Status() ([]*plan.Report, error) {
	res, err := d.system.Root.RequestFuture(d.root, &messages.Status{}, askTimeout).Result()
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	return res.(*messages.StatusReports).Reports, nil
}

// Inspect is everything the daemon knows of its real servers now: their
// health and why they are in or out, the last check of each, the weights
// it wants and those the table holds, their connections. An error says
// what could not be read; what could is returned with it.
func (d *Daemon) Inspect() (*plan.Inspection, error) {
	res, err := d.system.Root.RequestFuture(d.root, &messages.Inspect{}, askTimeout).Result()
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	a := res.(*inspectAnswer)
	return a.ins, a.err
}

// StatusChanged receives when a configuration sent a new report since the
// last receive, for a caller that keeps the status somewhere.
func (d *Daemon) StatusChanged() <-chan struct{} { return d.statusChanged }

// Stop leaves the table as cleanstop says, stops every actor and waits for
// them.
func (d *Daemon) Stop() error {
	var stopErr error
	res, err := d.system.Root.RequestFuture(d.root, &messages.Shutdown{}, 3*askTimeout).Result()
	if err != nil {
		stopErr = fmt.Errorf("stop: %w", err)
	} else {
		stopErr = res.(*messages.Stopped).Err
	}
	if err := d.system.Root.StopFuture(d.root).Wait(); err != nil && stopErr == nil {
		stopErr = fmt.Errorf("stop actors: %w", err)
	}
	d.system.EventStream.Unsubscribe(d.sub)
	d.system.Shutdown()
	d.gate.stop()
	return stopErr
}
