package actors

// An instance owns one configuration: its virtual actors, the health of
// all its real servers (the statuses its virtual actors report, one change
// at a time), its file watcher, its desired table, its status report, and
// reloads. What it must not lose when it restarts (the configuration as
// last reloaded, the health, the virtual actors' kept states) lives in an
// instanceKept. A virtual actor that keeps failing is stopped after a
// bounded number of restarts; its siblings go on.
//
// Takes: *messages.RealChanged and *messages.FallbackChecked from its
// virtual actors, *messages.Reload and *messages.ReloadFile (answered with
// *messages.Reloaded), *messages.FileChanged, *messages.Inspect (answered
// with *messages.Inspected, see inspect.go), *messages.Shutdown (answered
// with *messages.Stopped), *messages.DesiredTaken from the writer, and its
// own timers (grace, reports, slowstart steps, fail-open holds, drain
// scans). Sends: *messages.Desired, *messages.Release and
// *messages.ReadTable to the writer, *messages.UpdateVirtual and
// *messages.Inspect to its virtual actors, *messages.Reported to the root.
// The health extensions it applies are in health.go, drains in drain.go.

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// instanceKept is what an instance must not lose when it restarts.
type instanceKept struct {
	cfg      *conf.Config
	health   plan.Health
	virtuals map[conf.VirtualID]*virtualKept
	// fallbacks are the fallback servers' states, for the status only.
	fallbacks map[conf.VirtualID]plan.FallbackState
	// ready is set once every real server had its first check, or the
	// start grace time passed: until then nothing is written, so that a
	// table left by an earlier run is adopted as it is instead of losing
	// its real servers until they are checked again.
	ready   bool
	stopped bool
	// sharing is read by the probers: whether sharedchecks is on.
	sharing *sharing
	// ramps are the reals whose weight slowstart ramps; failOpen, the
	// virtuals whose table failopen holds or may hold soon.
	ramps    plan.Ramps
	failOpen map[conf.VirtualID]plan.FailOpen
	// drains are the reals being drained, from the drain directory.
	drains plan.Drains
	// built is each virtual's desired table as last built, while its
	// reals' health has not changed since: at 10,000 reals, building all
	// of it again for every change made most of a burst's garbage.
	built map[conf.VirtualID]builtVirtual
}

// builtVirtual is plan.DesiredVirtual of v. Nobody changes it once built:
// the writer only reads it.
type builtVirtual struct {
	v  *conf.Virtual
	kv kernel.Virtual
}

type instance struct {
	opts    Options
	writer  *actor.PID
	log     *zap.Logger
	effects *sideEffects
	*instanceKept

	pids    map[conf.VirtualID]*actor.PID
	watcher *actor.PID
	grace   *time.Timer
	// sending is the sequence number of the Desired on its way to the
	// writer (0: none) and dirty says health changed since it left: the
	// latest table follows when the writer has taken that one. A Desired
	// lost with a crashing writer is sent again after desiredResend.
	sending, seq uint64
	dirty        bool
	// reporting says a report to the root is due; reported is when the
	// last one went.
	reporting bool
	reported  time.Time
	// rampAt is when the pending rampStep fires (zero: none).
	rampAt time.Time
	// drainToken names this incarnation's drain scans; drainPending says
	// one is due.
	drainToken   *int
	drainPending bool
	// last is the last report sent; stale, the virtuals changed since
	// (nil: all of them).
	last  *plan.Report
	stale map[conf.VirtualID]bool
}

type graceOver struct{}

// desiredResend is how long an instance waits for the writer to take a
// Desired before it takes it for lost and sends the latest again.
const desiredResend = 2 * time.Second

// desiredLost fires desiredResend after Desired number seq was sent.
type desiredLost struct{ seq uint64 }

// reportDelay gathers the changes of health that come together into one
// report to the root: a report copies every real's status. A change after
// a quiet time is reported at once.
const reportDelay = time.Second

type reportDue struct{}

// rampStep fires when the next slowstart step is due.
type rampStep struct{}

// failOpenDue fires when the hold of a virtual's table ends.
type failOpenDue struct{ virtual conf.VirtualID }

func newInstance(opts Options, writer *actor.PID, cfg *conf.Config) actor.Producer {
	kept := &instanceKept{
		cfg: cfg, health: plan.Health{}, virtuals: map[conf.VirtualID]*virtualKept{},
		fallbacks: map[conf.VirtualID]plan.FallbackState{},
		sharing:   &sharing{}, ramps: plan.Ramps{}, failOpen: map[conf.VirtualID]plan.FailOpen{}, drains: plan.Drains{},
	}
	kept.sharing.on.Store(cfg.Global.SharedChecks)
	return func() actor.Actor {
		log := opts.Log.With(zap.String("config", cfg.Name))
		return &instance{
			opts: opts, writer: writer, log: log, instanceKept: kept,
			pids:    map[conf.VirtualID]*actor.PID{},
			effects: &sideEffects{log: log, timeout: opts.SideEffectTimeout, sendmail: opts.Sendmail},
		}
	}
}

func (in *instance) owner() string { return in.cfg.File }

func (in *instance) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		in.log.Info("starting", zap.String("file", in.cfg.File), zap.Int("virtuals", len(in.cfg.Virtuals)))
		for _, v := range in.cfg.Virtuals {
			in.spawn(ctx, v)
		}
		in.watch(ctx)
		in.scanDrains(ctx)
		in.tellSync(ctx)
		if !in.ready {
			self, root := ctx.Self(), ctx.ActorSystem().Root
			in.grace = time.AfterFunc(plan.StartGrace(in.cfg), func() { root.Send(self, &graceOver{}) })
		}
		in.push(ctx)
		in.reportSoon(ctx)
	case *messages.DesiredTaken:
		in.taken(ctx)
	case *desiredLost:
		if in.sending == msg.seq {
			in.log.Warn("the IPVS writer did not take the desired table; sending it again")
			in.taken(ctx)
		}
	case *graceOver:
		if !in.ready {
			in.ready = true
			in.log.Info("start grace time over; writing the table with real servers not yet checked left out")
			in.push(ctx)
		}
	case *reportDue:
		in.report(ctx)
	case *messages.RealChanged:
		if in.pids[msg.Virtual] == nil {
			return
		}
		in.realChanged(ctx, msg)
	case *rampStep:
		in.rampAt = time.Time{}
		in.push(ctx)
	case *failOpenDue:
		in.recheckFailOpen(ctx, msg.virtual)
	case *drainTick:
		if msg.token == in.drainToken {
			in.drainPending = false
			in.scanDrains(ctx)
		}
	case *messages.FallbackChecked:
		if in.pids[msg.Virtual] == nil {
			return
		}
		if msg.Status == plan.Unknown {
			delete(in.fallbacks, msg.Virtual)
		} else {
			in.fallbacks[msg.Virtual] = msg.FallbackState
		}
		in.reportSoon(ctx)
	case *messages.Inspect:
		in.inspect(ctx)
	case *messages.Reload:
		ctx.Respond(&messages.Reloaded{Err: in.reload(ctx, msg.Config)})
	case *messages.ReloadFile:
		ctx.Respond(&messages.Reloaded{Err: in.reloadFile(ctx)})
	case *messages.FileChanged:
		in.fileChanged(ctx)
	case *messages.Shutdown:
		in.shutdown(ctx)
		ctx.Respond(&messages.Stopped{})
	case *actor.Terminated:
		if in.stopped {
			return
		}
		for id, pid := range in.pids {
			if pid.Equal(msg.Who) {
				in.log.Error("virtual service stopped after repeated failures; its real servers are no longer checked", zap.String("virtual", string(id)))
				delete(in.pids, id)
			}
		}
	case *actor.Stopping, *actor.Restarting:
		if in.grace != nil {
			in.grace.Stop()
		}
		in.effects.wait()
	}
}

func (in *instance) allChecked() bool {
	for _, v := range in.cfg.Virtuals {
		for _, r := range v.Reals {
			if in.health[v.ID][r.ID] == plan.Unknown {
				return false
			}
		}
	}
	return true
}

// spawn starts the actor of v, from the state it kept if it had one.
func (in *instance) spawn(ctx actor.Context, v *conf.Virtual) {
	kept := in.virtuals[v.ID]
	if kept == nil {
		kept = newVirtualKept(v)
		in.virtuals[v.ID] = kept
	}
	in.pids[v.ID] = ctx.Spawn(props(in.opts, newVirtual(in.opts, in.cfg.Global.MaintenanceDir, in.sharing, kept), proberRestarts))
}

func (in *instance) watch(ctx actor.Context) {
	g := in.cfg.Global
	if in.watcher != nil || (!g.AutoReload && g.Callback == "") || in.cfg.File == "" {
		return
	}
	in.watcher = ctx.Spawn(props(in.opts, newWatcher(in.log, in.cfg.File), 0))
}

func (in *instance) push(ctx actor.Context) {
	if in.stopped {
		return
	}
	if !in.ready {
		if !in.allChecked() {
			return
		}
		in.ready = true
	}
	if in.sending != 0 {
		in.dirty = true
		return
	}
	in.dirty = false
	in.seq++
	in.sending = in.seq
	desired, optional, next := in.desired(time.Now())
	if !next.IsZero() {
		in.stepAt(ctx, next)
	}
	ctx.Request(in.writer, &messages.Desired{Owner: in.owner(), Virtuals: desired, Optional: optional})
	seq, self, root := in.seq, ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(desiredResend, func() { root.Send(self, &desiredLost{seq: seq}) })
}

// desired is the table the instance wants at now, with its optional
// destinations, and when the next slowstart step is due (zero: none).
func (in *instance) desired(now time.Time) (vs []kernel.Virtual, optional []plan.Ref, next time.Time) {
	h := plan.HeldHealth(in.health, in.failOpen)
	vs = in.build(h)
	next = plan.SlowStart(in.cfg, vs, in.ramps, now)
	plan.ApplyDrains(in.cfg, vs, in.drains)
	return vs, plan.Optional(in.cfg, h), next
}

// build is plan.Desired, each virtual built again only when its health
// changed. Slowstart ramps, drains and failopen holds change the table
// they are given (or the health it is built from), so while any is under
// way everything is built anew, as plan.Desired does.
func (in *instance) build(h plan.Health) []kernel.Virtual {
	if anyInner(in.ramps) || anyInner(in.drains) || plan.AnyHeld(in.failOpen) {
		in.built = nil
		return plan.Desired(in.cfg, h)
	}
	if in.built == nil {
		in.built = map[conf.VirtualID]builtVirtual{}
	}
	out := make([]kernel.Virtual, 0, len(in.cfg.Virtuals))
	for _, v := range in.cfg.Virtuals {
		b, ok := in.built[v.ID]
		if !ok || b.v != v {
			b = builtVirtual{v: v, kv: plan.DesiredVirtual(v, h[v.ID])}
			in.built[v.ID] = b
		}
		out = append(out, b.kv)
	}
	return out
}

// anyInner reports whether any virtual of m has an entry.
func anyInner[V any](m map[conf.VirtualID]map[conf.RealID]V) bool {
	for _, inner := range m {
		if len(inner) > 0 {
			return true
		}
	}
	return false
}

// taken: the writer holds the last Desired; send the latest if health
// changed since.
func (in *instance) taken(ctx actor.Context) {
	in.sending = 0
	if in.dirty {
		in.push(ctx)
	}
}

// changed marks the report of virtual v as out of date.
func (in *instance) changed(v conf.VirtualID) {
	if in.stale != nil {
		in.stale[v] = true
	}
}

// reportSoon has a report sent to the root now, or reportDelay after the
// last one.
func (in *instance) reportSoon(ctx actor.Context) {
	if in.reporting {
		return
	}
	wait := reportDelay - time.Since(in.reported)
	if wait <= 0 {
		in.report(ctx)
		return
	}
	in.reporting = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(wait, func() { root.Send(self, &reportDue{}) })
}

func (in *instance) report(ctx actor.Context) {
	in.reporting, in.reported = false, time.Now()
	var prev *plan.Report
	if in.stale != nil {
		prev = in.last
	}
	in.last = plan.NewReport(in.cfg, in.health, in.fallbacks, in.failOpen, prev, in.stale)
	in.stale = map[conf.VirtualID]bool{}
	ctx.Send(ctx.Parent(), &messages.Reported{File: in.cfg.File, Report: in.last})
}

// reload switches to cfg: virtuals are matched by identity; unchanged and
// changed ones keep their actor (and their real servers' states), new ones
// start, removed ones stop and leave the table.
func (in *instance) reload(ctx actor.Context, cfg *conf.Config) error {
	if cfg == nil {
		return fmt.Errorf("reload of %s: no configuration", in.cfg.Name)
	}
	d := plan.DiffConfig(in.cfg, cfg)
	for _, v := range d.Removed {
		if pid := in.pids[v.ID]; pid != nil {
			ctx.Stop(pid)
		}
		delete(in.pids, v.ID)
		delete(in.virtuals, v.ID)
		delete(in.health, v.ID)
		delete(in.fallbacks, v.ID)
		delete(in.ramps, v.ID)
		delete(in.failOpen, v.ID)
		delete(in.drains, v.ID)
	}
	for _, v := range append(d.Changed, d.Same...) {
		if pid := in.pids[v.ID]; pid != nil {
			ctx.Send(pid, &messages.UpdateVirtual{Virtual: v})
		}
	}
	in.cfg = cfg
	in.built = nil
	in.sharing.on.Store(cfg.Global.SharedChecks)
	for _, v := range d.Added {
		in.spawn(ctx, v)
	}
	// States of real servers that left a kept virtual must not count.
	for _, v := range cfg.Virtuals {
		m := in.health[v.ID]
		for rid := range m {
			if v.Real(rid) == nil {
				delete(m, rid)
			}
		}
	}
	in.stale = nil // every virtual may have changed
	in.watch(ctx)
	in.tellSync(ctx)
	if !in.drainPending {
		in.scanDrains(ctx) // the drain directory may be new
	}
	in.log.Info("configuration reloaded",
		zap.Int("added", len(d.Added)), zap.Int("removed", len(d.Removed)), zap.Int("changed", len(d.Changed)))
	in.push(ctx)
	in.reportSoon(ctx)
	return nil
}

func (in *instance) reloadFile(ctx actor.Context) error {
	if in.opts.Load == nil {
		return fmt.Errorf("reload of %s: no configuration loader", in.cfg.Name)
	}
	cfg, err := in.opts.Load(in.cfg.File)
	if err != nil {
		in.log.Error("new configuration refused; the running one stays", zap.Error(err))
		return err
	}
	return in.reload(ctx, cfg)
}

func (in *instance) fileChanged(ctx actor.Context) {
	g := in.cfg.Global
	in.log.Info("configuration file changed on disk")
	if g.Callback != "" {
		in.effects.run("callback", g.Callback, in.cfg.Name)
	}
	if g.AutoReload {
		_ = in.reloadFile(ctx)
	}
}

// shutdown leaves the table as cleanstop says: services of virtuals with
// cleanstop = yes are removed, the others are left as they are.
func (in *instance) shutdown(ctx actor.Context) {
	if in.stopped {
		return
	}
	in.stopped = true
	rel := &messages.Release{Owner: in.owner()}
	for _, v := range in.cfg.Virtuals {
		rel.Services = append(rel.Services, plan.Service(v))
		if !v.Settings.Cleanstop {
			rel.Keep = append(rel.Keep, plan.Service(v))
		}
	}
	ctx.Send(in.writer, rel)
	in.log.Info("stopping", zap.Int("kept_virtuals", len(rel.Keep)))
}
