package actors

// An instance owns one configuration: its virtual actors, the states of all
// its real servers (so that a restarted virtual gets them back), its file
// watcher, its desired table, and reloads. A virtual actor that keeps
// failing is stopped after a bounded number of restarts; its siblings go on.
//
// Takes: *messages.VirtualStarted (answered with *messages.RestoreVirtual),
// *messages.RealStates, *messages.Reload and *messages.ReloadFile (answered
// with *messages.Reloaded), *messages.FileChanged, *messages.Status
// (answered with *messages.StatusReport), *messages.Shutdown (answered with
// *messages.Stopped). Sends: *messages.Desired and *messages.Release to the
// writer, *messages.UpdateVirtual to its virtual actors.

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/plan"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
)

// virtualRestarts bounds how often a virtual actor is restarted within
// restartWindow before it is stopped for good.
const (
	virtualRestarts = 5
	restartWindow   = time.Minute
)

type instance struct {
	opts    Options
	writer  *actor.PID
	cfg     *conf.Config
	log     *zap.Logger
	states  map[conf.VirtualID]map[conf.RealID]plan.RealState
	pids    map[conf.VirtualID]*actor.PID
	watcher *actor.PID
	effects *sideEffects
	// fallbacks are the fallback servers' states, for the status only.
	fallbacks map[conf.VirtualID]messages.FallbackChecked
	stopped   bool
	// ready is set once every real server had its first check, or the
	// start grace time passed: until then nothing is written, so that a
	// table left by an earlier run is adopted as it is instead of losing
	// its real servers until they are checked again.
	ready bool
	grace *time.Timer
	// sending is the sequence number of the Desired on its way to the
	// writer (0: none) and dirty says health changed since it left: the
	// latest table follows when the writer has taken that one. A Desired
	// lost with a crashing writer is sent again after desiredResend.
	sending, seq uint64
	dirty        bool
}

type graceOver struct{}

// desiredResend is how long an instance waits for the writer to take a
// Desired before it takes it for lost and sends the latest again.
const desiredResend = 2 * time.Second

// desiredLost fires desiredResend after Desired number seq was sent.
type desiredLost struct{ seq uint64 }

// pidsQuery asks an instance (or the root) for its children; tests use it.
type pidsQuery struct{}

func newInstance(opts Options, writer *actor.PID, cfg *conf.Config) actor.Producer {
	return func() actor.Actor {
		log := opts.Log.With(zap.String("config", cfg.Name))
		return &instance{
			opts: opts, writer: writer, cfg: cfg, log: log,
			states:    map[conf.VirtualID]map[conf.RealID]plan.RealState{},
			pids:      map[conf.VirtualID]*actor.PID{},
			fallbacks: map[conf.VirtualID]messages.FallbackChecked{},
			effects:   &sideEffects{log: log, timeout: opts.SideEffectTimeout, sendmail: opts.Sendmail},
		}
	}
}

func (in *instance) owner() string { return in.cfg.File }

func virtualProps(opts Options, dir string, v *conf.Virtual) *actor.Props {
	return actor.PropsFromProducer(newVirtual(opts, dir, v),
		actor.WithSupervisor(actor.NewOneForOneStrategy(proberRestarts, restartWindow, actor.DefaultDecider)))
}

// proberRestarts bounds the restarts of a prober within restartWindow.
const proberRestarts = 10

func (in *instance) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		in.log.Info("starting", zap.String("file", in.cfg.File), zap.Int("virtuals", len(in.cfg.Virtuals)))
		for _, v := range in.cfg.Virtuals {
			in.spawn(ctx, v)
		}
		in.watch(ctx)
		self, root := ctx.Self(), ctx.ActorSystem().Root
		in.grace = time.AfterFunc(startGrace(in.cfg), func() { root.Send(self, &graceOver{}) })
		in.push(ctx)
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
	case *pidsQuery:
		m := map[conf.VirtualID]*actor.PID{}
		for k, v := range in.pids {
			m[k] = v
		}
		ctx.Respond(m)
	case *messages.VirtualStarted:
		ctx.Respond(&messages.RestoreVirtual{States: in.states[msg.Virtual]})
	case *messages.RealStates:
		if in.pids[msg.Virtual] == nil {
			return
		}
		in.states[msg.Virtual] = msg.States
		in.push(ctx)
	case *messages.FallbackChecked:
		if in.pids[msg.Virtual] == nil {
			return
		}
		if msg.Status == plan.Unknown {
			delete(in.fallbacks, msg.Virtual)
		} else {
			in.fallbacks[msg.Virtual] = *msg
		}
	case *messages.Reload:
		ctx.Respond(&messages.Reloaded{Err: in.reload(ctx, msg.Config)})
	case *messages.ReloadFile:
		ctx.Respond(&messages.Reloaded{Err: in.reloadFile(ctx)})
	case *messages.FileChanged:
		in.fileChanged(ctx)
	case *messages.Status:
		fb := make(map[conf.VirtualID]messages.FallbackChecked, len(in.fallbacks))
		for k, v := range in.fallbacks {
			fb[k] = v
		}
		ctx.Respond(&messages.StatusReport{Name: in.cfg.Name, Health: in.health(), Fallbacks: fb})
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
	case *crash:
		panic("crash requested")
	case *actor.Stopping, *actor.Restarting:
		if in.grace != nil {
			in.grace.Stop()
		}
		in.effects.wait()
	}
}

// startGrace is how long an instance waits at most for the first checks of
// its real servers: the longest first-check offset and timeout, and a
// second.
func startGrace(cfg *conf.Config) time.Duration {
	var longest time.Duration
	for _, v := range cfg.Virtuals {
		t := max(v.Settings.CheckTimeout, v.Settings.NegotiateTimeout)
		longest = max(longest, firstSpread(v.Settings.CheckInterval)+t)
	}
	return longest + time.Second
}

func (in *instance) allChecked() bool {
	for _, v := range in.cfg.Virtuals {
		for _, r := range v.Reals {
			if in.states[v.ID][r.ID].Status == plan.Unknown {
				return false
			}
		}
	}
	return true
}

func (in *instance) spawn(ctx actor.Context, v *conf.Virtual) {
	in.pids[v.ID] = ctx.Spawn(virtualProps(in.opts, in.cfg.Global.MaintenanceDir, v))
}

func (in *instance) watch(ctx actor.Context) {
	g := in.cfg.Global
	if in.watcher != nil || (!g.AutoReload && g.Callback == "") || in.cfg.File == "" {
		return
	}
	in.watcher = ctx.Spawn(actor.PropsFromProducer(newWatcher(in.log, in.cfg.File)))
}

func (in *instance) health() plan.Health {
	h := plan.Health{}
	for vid, m := range in.states {
		for rid, s := range m {
			h.Set(vid, rid, s.Status)
		}
	}
	return h
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
	h := in.health()
	ctx.Request(in.writer, &messages.Desired{
		Owner:    in.owner(),
		Virtuals: plan.Desired(in.cfg, h),
		Optional: plan.Optional(in.cfg, h),
	})
	seq, self, root := in.seq, ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(desiredResend, func() { root.Send(self, &desiredLost{seq: seq}) })
}

// taken: the writer holds the last Desired; send the latest if health
// changed since.
func (in *instance) taken(ctx actor.Context) {
	in.sending = 0
	if in.dirty {
		in.push(ctx)
	}
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
		delete(in.states, v.ID)
		delete(in.fallbacks, v.ID)
	}
	for _, v := range append(d.Changed, d.Same...) {
		if pid := in.pids[v.ID]; pid != nil {
			ctx.Send(pid, &messages.UpdateVirtual{Virtual: v})
		}
	}
	in.cfg = cfg
	for _, v := range d.Added {
		in.spawn(ctx, v)
	}
	// States of real servers that left a kept virtual must not count.
	for _, v := range cfg.Virtuals {
		m := in.states[v.ID]
		for rid := range m {
			if !hasReal(v, rid) {
				delete(m, rid)
			}
		}
	}
	in.watch(ctx)
	in.log.Info("configuration reloaded",
		zap.Int("added", len(d.Added)), zap.Int("removed", len(d.Removed)), zap.Int("changed", len(d.Changed)))
	in.push(ctx)
	return nil
}

func hasReal(v *conf.Virtual, id conf.RealID) bool {
	for _, r := range v.Reals {
		if r.ID == id {
			return true
		}
	}
	return false
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
