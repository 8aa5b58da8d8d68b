package actors

// The root supervisor owns the IPVS writer and one instance per
// configuration. An instance that fails is restarted, a bounded number of
// times. On shutdown it asks every instance to leave the table as cleanstop
// says, then has the writer apply that before it answers.
//
// Takes: *messages.Reload (to the instance of that file), *messages.ReloadAll
// (instances started, reloaded and stopped to match), *messages.ReloadFile
// and *messages.Status (to every instance), *messages.Shutdown,
// *messages.AwaitApplied (to the writer, naming every instance). Answers
// with *messages.Reloaded, []*messages.StatusReport and *messages.Stopped;
// the writer answers *messages.Applied.

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
)

// askTimeout bounds a question to an actor; reload and shutdown are quick,
// the writer's flush does the table writes.
const askTimeout = 30 * time.Second

// instanceRestarts bounds the restarts of an instance within restartWindow.
const instanceRestarts = 3

type root struct {
	opts      Options
	cfgs      []*conf.Config
	writer    *actor.PID
	instances []*actor.PID
	files     []string
}

func (r *root) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.writer = ctx.Spawn(actor.PropsFromProducer(newWriter(r.opts)))
		for _, c := range r.cfgs {
			r.spawn(ctx, c)
		}
	case *messages.ReloadAll:
		ctx.Respond(&messages.Reloaded{Err: r.reloadAll(ctx, msg.Configs)})
	case *messages.AwaitApplied:
		ctx.RequestWithCustomSender(r.writer,
			&messages.AwaitApplied{Owners: slices.Clone(r.files), Deadline: msg.Deadline}, ctx.Sender())
	case *pidsQuery:
		ctx.Respond(append([]*actor.PID{r.writer}, r.instances...))
	case *messages.Reload:
		for i, f := range r.files {
			if f == msg.Config.File {
				ctx.Respond(askReloaded(ctx, r.instances[i], msg))
				return
			}
		}
		ctx.Respond(&messages.Reloaded{Err: fmt.Errorf("reload: no running configuration %s", msg.Config.File)})
	case *messages.ReloadFile:
		var errs []error
		for _, pid := range r.instances {
			errs = append(errs, askReloaded(ctx, pid, msg).Err)
		}
		ctx.Respond(&messages.Reloaded{Err: errors.Join(errs...)})
	case *messages.Status:
		var out []*messages.StatusReport
		for _, pid := range r.instances {
			if res, err := ctx.RequestFuture(pid, msg, askTimeout).Result(); err == nil {
				out = append(out, res.(*messages.StatusReport))
			}
		}
		ctx.Respond(out)
	case *messages.Shutdown:
		var errs []error
		for _, pid := range r.instances {
			if _, err := ctx.RequestFuture(pid, msg, askTimeout).Result(); err != nil {
				errs = append(errs, fmt.Errorf("stop instance %s: %w", pid.Id, err))
			}
		}
		res, err := ctx.RequestFuture(r.writer, &messages.Flush{}, askTimeout).Result()
		if err != nil {
			errs = append(errs, fmt.Errorf("last write of the IPVS table: %w", err))
		} else if f := res.(*messages.Flushed); f.Err != nil {
			errs = append(errs, fmt.Errorf("last write of the IPVS table: %w", f.Err))
		}
		ctx.Respond(&messages.Stopped{Err: errors.Join(errs...)})
	}
}

func (r *root) spawn(ctx actor.Context, c *conf.Config) {
	r.instances = append(r.instances, ctx.Spawn(actor.PropsFromProducer(newInstance(r.opts, r.writer, c),
		actor.WithSupervisor(actor.NewOneForOneStrategy(virtualRestarts, restartWindow, actor.DefaultDecider)))))
	r.files = append(r.files, c.File)
}

// reloadAll makes the running instances those of cfgs.
func (r *root) reloadAll(ctx actor.Context, cfgs []*conf.Config) error {
	var errs []error
	named := map[string]bool{}
	for _, c := range cfgs {
		named[c.File] = true
		if i := slices.Index(r.files, c.File); i >= 0 {
			errs = append(errs, askReloaded(ctx, r.instances[i], &messages.Reload{Config: c}).Err)
			continue
		}
		r.spawn(ctx, c)
	}
	for i := len(r.files) - 1; i >= 0; i-- {
		if named[r.files[i]] {
			continue
		}
		pid := r.instances[i]
		if _, err := ctx.RequestFuture(pid, &messages.Shutdown{}, askTimeout).Result(); err != nil {
			errs = append(errs, fmt.Errorf("stop the instance of %s: %w", r.files[i], err))
		}
		ctx.Stop(pid)
		r.files = slices.Delete(r.files, i, i+1)
		r.instances = slices.Delete(r.instances, i, i+1)
	}
	return errors.Join(errs...)
}

func askReloaded(ctx actor.Context, pid *actor.PID, msg any) *messages.Reloaded {
	res, err := ctx.RequestFuture(pid, msg, askTimeout).Result()
	if err != nil {
		return &messages.Reloaded{Err: fmt.Errorf("reload: %w", err)}
	}
	return res.(*messages.Reloaded)
}

// Daemon is a running actor system with its supervisor tree.
type Daemon struct {
	system *actor.ActorSystem
	root   *actor.PID
	sub    *eventstream.Subscription
	log    *zap.Logger
	// grace is the longest start grace time of the configurations.
	grace      time.Duration
	backoffMax time.Duration
	readyWrite time.Duration
	gate       *gate
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
	opts.gate = newGate(opts.Log)
	go opts.gate.run()
	quiet := func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }
	sys := actor.NewActorSystem(actor.WithLoggerFactory(quiet))
	d := &Daemon{system: sys, log: opts.Log, backoffMax: opts.BackoffMax, readyWrite: opts.ReadyWrite, gate: opts.gate}
	for _, c := range cfgs {
		d.grace = max(d.grace, startGrace(c))
	}
	d.sub = sys.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			d.log.Warn("actor failed", zap.String("actor", e.Child.Id), zap.String("reason", fmt.Sprint(e.Reason)), zap.String("directive", e.Directive.String()))
		}
	})
	d.root = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &root{opts: opts, cfgs: cfgs} },
		actor.WithSupervisor(actor.NewOneForOneStrategy(instanceRestarts, restartWindow, actor.DefaultDecider))))
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

// Status reports the states of the real servers of every instance.
func (d *Daemon) Status() ([]*messages.StatusReport, error) {
	res, err := d.system.Root.RequestFuture(d.root, &messages.Status{}, 2*askTimeout).Result()
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	return res.([]*messages.StatusReport), nil
}

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
