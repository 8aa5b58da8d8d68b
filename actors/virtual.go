package actors

// A virtual actor owns one virtual service: its probers (one per real
// server, and one for the fallback server that only reports), the states of its real servers, the monitorfile, the email alerts
// and the fallbackcommand. On start it asks its instance for the states its
// real servers had (a restart keeps them) before it starts its probers.
//
// Takes: *messages.RestoreVirtual (answer to *messages.VirtualStarted),
// *messages.ProberStarted (answered with *messages.RestoreReal),
// *messages.Checked from its probers, *messages.UpdateVirtual on reload.
// Sends: *messages.VirtualStarted, *messages.RealStates and
// *messages.FallbackChecked to its instance, *messages.UpdateReal to its
// probers.

import (
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/plan"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
)

type virtualActor struct {
	opts           Options
	maintenanceDir string
	v              *conf.Virtual
	log            *zap.Logger

	restored bool
	states   map[conf.RealID]plan.RealState
	probers  map[conf.RealID]*actor.PID
	lastMail map[conf.RealID]time.Time
	daemon   string // starting, running or reloading, for emailalertstatus
	fallback *bool  // whether fallbackcommand was last run with start
	effects  *sideEffects

	// The fallback server's prober and state: reported, never in the
	// table's decisions.
	fbProber *actor.PID
	fbID     conf.RealID
	fbAddr   netip.AddrPort
	fbState  plan.RealState
}

func newVirtual(opts Options, maintenanceDir string, v *conf.Virtual) actor.Producer {
	return func() actor.Actor {
		log := opts.Log.With(zap.String("virtual", string(v.ID)))
		return &virtualActor{
			opts: opts, maintenanceDir: maintenanceDir, v: v, log: log,
			probers: map[conf.RealID]*actor.PID{}, lastMail: map[conf.RealID]time.Time{},
			daemon:  plan.Starting,
			effects: &sideEffects{log: log, timeout: opts.SideEffectTimeout, sendmail: opts.Sendmail},
		}
	}
}

func (a *virtualActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ctx.Request(ctx.Parent(), &messages.VirtualStarted{Virtual: a.v.ID})
	case *messages.RestoreVirtual:
		if a.restored {
			return
		}
		a.restored = true
		a.states = map[conf.RealID]plan.RealState{}
		for _, r := range a.v.Reals {
			a.states[r.ID] = msg.States[r.ID]
			a.spawn(ctx, r)
		}
		a.spawnFallback(ctx)
	case *messages.ProberStarted:
		if msg.Real == a.fbID && a.fbID != "" {
			ctx.Respond(&messages.RestoreReal{State: a.fbState})
			return
		}
		ctx.Respond(&messages.RestoreReal{State: a.states[msg.Real]})
	case *messages.Checked:
		if msg.Real == a.fbID && a.fbID != "" {
			a.fallbackChecked(ctx, msg)
			return
		}
		a.checked(ctx, msg)
	case *messages.UpdateVirtual:
		a.update(ctx, msg.Virtual)
	case *crash:
		panic("crash requested")
	case *actor.Stopping, *actor.Restarting:
		a.effects.wait()
	}
}

func (a *virtualActor) spawn(ctx actor.Context, r *conf.Real) {
	a.probers[r.ID] = ctx.Spawn(actor.PropsFromProducer(newProber(a.opts, a.maintenanceDir, a.v, r)))
}

func (a *virtualActor) real(id conf.RealID) *conf.Real {
	for _, r := range a.v.Reals {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (a *virtualActor) checked(ctx actor.Context, msg *messages.Checked) {
	r := a.real(msg.Real)
	if r == nil || a.probers[msg.Real] == nil {
		return // removed by a reload while its check ran
	}
	a.states[msg.Real] = msg.State
	a.log.Debug("checked", zap.String("real", string(r.ID)), zap.Bool("up", msg.Result.Up),
		zap.String("reason", msg.Result.Reason), zap.Duration("took", msg.Result.Duration))
	a.monitor(r, msg)
	now := time.Now()
	switch msg.Transition {
	case plan.WentUp, plan.WentDown:
		a.log.Info("real server "+msg.State.Status.String(),
			zap.String("real", string(r.ID)), zap.String("reason", msg.Result.Reason), zap.Duration("took", msg.Result.Duration))
		a.alert(r, msg.State.Status, now, false)
		ctx.Send(ctx.Parent(), &messages.RealStates{Virtual: a.v.ID, States: a.copyStates()})
		a.fallbackCommand()
	case plan.SoftFailure:
		a.log.Info("real server soft failure", zap.String("real", string(r.ID)),
			zap.Int("failure", msg.State.Failures), zap.Int("failurecount", a.v.Settings.FailureCount), zap.String("reason", msg.Result.Reason))
	case plan.Same:
		if msg.State.Status == plan.Down && plan.ResendDue(a.v.Settings, a.lastMail[r.ID], now) {
			a.alert(r, plan.Down, now, true)
		}
	}
	if a.daemon == plan.Starting && a.allChecked() {
		a.daemon = plan.Running
	}
}

func (a *virtualActor) allChecked() bool {
	for _, s := range a.states {
		if s.Status == plan.Unknown {
			return false
		}
	}
	return true
}

func (a *virtualActor) copyStates() map[conf.RealID]plan.RealState {
	m := make(map[conf.RealID]plan.RealState, len(a.states))
	for k, v := range a.states {
		m[k] = v
	}
	return m
}

func (a *virtualActor) statuses() map[conf.RealID]plan.Status {
	m := make(map[conf.RealID]plan.Status, len(a.states))
	for k, v := range a.states {
		m[k] = v.Status
	}
	return m
}

func (a *virtualActor) monitor(r *conf.Real, msg *messages.Checked) {
	if a.v.MonitorFile == "" {
		return
	}
	status := plan.Down
	if msg.Result.Up {
		status = plan.Up
	}
	line := plan.MonitorLine(time.Now(), os.Getpid(), r.Addr, r.Port, status, msg.Result.Reason)
	if err := appendLine(a.v.MonitorFile, line); err != nil {
		a.log.Error("monitorfile not written", zap.String("monitorfile", a.v.MonitorFile), zap.Error(err))
	}
}

func (a *virtualActor) alert(r *conf.Real, st plan.Status, now time.Time, repeat bool) {
	s := a.v.Settings
	if st == plan.Down && s.EmailAlertFreq > 0 {
		a.lastMail[r.ID] = now
	} else {
		delete(a.lastMail, r.ID)
	}
	if !plan.MailWanted(s, a.daemon) {
		return
	}
	what := "Restored"
	w := r.Weight
	if st == plan.Down {
		what, w = "Deleted", 0
		if s.Quiescent {
			what = "Quiescent"
		}
	}
	subject := what + " real server: " + netip.AddrPortFrom(r.Addr, r.Port).String() + " (" + string(a.v.ID) + ") (Weight set to " + strconv.Itoa(w) + ")"
	if repeat {
		subject = "Still down: " + subject
	}
	m := plan.AlertMail(a.v, a.opts.Hostname, s.EmailAlertFrom, subject, a.daemon)
	if s.SMTP == "" {
		a.effects.submit(m) // as Perl's Mail::Send does without smtp
		return
	}
	a.effects.mail(plan.SMTPAddr(s.SMTP), m)
}

// fallbackCommand runs fallbackcommand with start when the last real server
// went down and with stop when the first came back.
func (a *virtualActor) fallbackCommand() {
	anyUp := plan.AnyUp(a.v, a.statuses())
	cmd := a.v.Settings.FallbackCommand
	if anyUp {
		if a.fallback != nil && *a.fallback && cmd != "" {
			a.effects.run("fallbackcommand", cmd, "stop", a.vipPort(), string(a.v.Protocol))
		}
		f := false
		a.fallback = &f
		return
	}
	if !a.allChecked() || (a.fallback != nil && *a.fallback) {
		return
	}
	if cmd != "" {
		a.effects.run("fallbackcommand", cmd, "start", a.vipPort(), string(a.v.Protocol))
	}
	t := true
	a.fallback = &t
}

func (a *virtualActor) vipPort() string {
	if a.v.FWMark != 0 {
		return strconv.FormatUint(uint64(a.v.FWMark), 10)
	}
	return netip.AddrPortFrom(a.v.Addr, a.v.Port).String()
}

// update takes a reloaded virtual: unchanged real servers keep their prober
// and state, changed ones are told, new ones get a prober, removed ones go.
func (a *virtualActor) update(ctx actor.Context, nv *conf.Virtual) {
	if !a.restored {
		a.v = nv // the probers start from it once restored
		return
	}
	d := plan.DiffReals(a.v, nv)
	a.v = nv
	for _, r := range d.Removed {
		if pid := a.probers[r.ID]; pid != nil {
			ctx.Stop(pid)
		}
		delete(a.probers, r.ID)
		delete(a.states, r.ID)
		delete(a.lastMail, r.ID)
	}
	for _, r := range append(d.Same, d.Changed...) {
		if pid := a.probers[r.ID]; pid != nil {
			ctx.Send(pid, &messages.UpdateReal{Virtual: nv, Real: r})
		}
	}
	for _, r := range d.Added {
		a.states[r.ID] = plan.RealState{}
		a.spawn(ctx, r)
	}
	a.updateFallback(ctx)
	ctx.Send(ctx.Parent(), &messages.RealStates{Virtual: a.v.ID, States: a.copyStates()})
}
