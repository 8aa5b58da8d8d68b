package actors

// A virtual actor owns one virtual service: its probers (one per real
// server, and one for the fallback server that only reports), the statuses
// of its real servers as its probers last reported them (for the fallback
// decisions), the monitorfile, the email alerts and the fallbackcommand.
// What it must not lose when it restarts lives in a virtualKept, with the
// probers' own kept states, so that a restarted virtual and its new
// probers go on where they were.
//
// Takes: *messages.Checked from its probers, *messages.UpdateVirtual on
// reload, *messages.Inspect (answered with what the last checks found). Sends: *messages.RealChanged and *messages.FallbackChecked to its
// instance, *messages.UpdateReal to its probers.

import (
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// virtualKept is what a virtual actor must not lose when it restarts.
type virtualKept struct {
	v        *conf.Virtual
	statuses map[conf.RealID]plan.Status
	reals    map[conf.RealID]*proberKept
	lastMail map[conf.RealID]time.Time
	daemon   string // starting, running or reloading, for emailalertstatus
	fallback *bool  // whether fallbackcommand was last run with start

	// The fallback server's prober: reported, never in the table's
	// decisions.
	fb       *proberKept
	fbID     conf.RealID
	fbAddr   netip.AddrPort
	fbStatus plan.Status
}

func newVirtualKept(v *conf.Virtual) *virtualKept {
	return &virtualKept{
		v: v, statuses: map[conf.RealID]plan.Status{}, reals: map[conf.RealID]*proberKept{},
		lastMail: map[conf.RealID]time.Time{}, daemon: plan.Starting,
	}
}

// realSeen is what the last check of a real found, kept for inspection.
type realSeen struct {
	at          time.Time
	res         checks.Result
	maintenance bool
	failures    int       // failed checks in a row
	since       time.Time // when the real entered its status
}

type virtualActor struct {
	opts           Options
	maintenanceDir string
	sharing        *sharing
	log            *zap.Logger
	effects        *sideEffects
	*virtualKept

	probers  map[conf.RealID]*actor.PID
	fbProber *actor.PID
}

func newVirtual(opts Options, maintenanceDir string, sh *sharing, kept *virtualKept) actor.Producer {
	return func() actor.Actor {
		log := opts.Log.With(zap.String("virtual", string(kept.v.ID)))
		return &virtualActor{
			opts: opts, maintenanceDir: maintenanceDir, sharing: sh, log: log, virtualKept: kept,
			probers: map[conf.RealID]*actor.PID{},
			effects: &sideEffects{log: log, timeout: opts.SideEffectTimeout, sendmail: opts.Sendmail},
		}
	}
}

func (a *virtualActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		for _, r := range a.v.Reals {
			a.spawn(ctx, r)
		}
		a.spawnFallback(ctx)
	case *messages.Checked:
		if a.fb != nil && msg.Real == a.fbID {
			a.fallbackChecked(ctx, msg)
			return
		}
		a.checked(ctx, msg)
	case *messages.UpdateVirtual:
		a.update(ctx, msg.Virtual)
	case *messages.Inspect:
		ctx.Respond(&messages.Inspected{Virtual: a.inspect()})
	case *actor.Stopping, *actor.Restarting:
		a.effects.wait()
	}
}

// spawn starts the prober of r, from the state it kept if it had one.
func (a *virtualActor) spawn(ctx actor.Context, r *conf.Real) {
	kept := a.reals[r.ID]
	if kept == nil {
		kept = &proberKept{v: a.v, r: r}
		a.reals[r.ID] = kept
	}
	a.probers[r.ID] = ctx.Spawn(proberProps(a.opts, newProber(a.opts, a.maintenanceDir, a.sharing, kept)))
}

func (a *virtualActor) checked(ctx actor.Context, msg *messages.Checked) {
	r := a.v.Real(msg.Real)
	if r == nil || a.probers[msg.Real] == nil {
		return // removed by a reload while its check ran
	}
	was, now := a.statuses[msg.Real], msg.State.Status
	a.statuses[msg.Real] = now
	// Checked: the fields are made only when debug lines are written:
	// this runs for every check.
	if ce := a.log.Check(zap.DebugLevel, "checked"); ce != nil {
		ce.Write(zap.String("real", string(r.ID)), zap.Bool("up", msg.Result.Up),
			zap.String("reason", msg.Result.Reason), zap.Duration("took", msg.Result.Duration))
	}
	a.monitor(r, msg)
	at := time.Now()
	tr := msg.Transition
	if tr == plan.Damped {
		a.log.Warn("real server flapping: held down", zap.String("real", string(r.ID)),
			zap.Time("until", msg.State.HeldUntil), zap.Duration("penalty", msg.State.Penalty),
			zap.Int("changes", a.v.Settings.FlapCount), zap.Duration("within", a.v.Settings.FlapWindow))
		if was == plan.Down {
			tr = plan.Same
		} else {
			tr = plan.WentDown
		}
	}
	switch tr {
	case plan.WentUp, plan.WentDown:
		a.log.Info("real server "+now.String(),
			zap.String("real", string(r.ID)), zap.String("reason", msg.Result.Reason), zap.Duration("took", msg.Result.Duration))
		a.alert(r, now, at, false)
		ctx.Send(ctx.Parent(), &messages.RealChanged{Virtual: a.v.ID, Real: r.ID, Status: now,
			Returned: was == plan.Down && now == plan.Up, Maintenance: msg.Maintenance})
		a.fallbackCommand()
	case plan.SoftFailure:
		a.log.Info("real server soft failure", zap.String("real", string(r.ID)),
			zap.Int("failure", msg.State.Failures), zap.Int("failurecount", a.v.Settings.FailureCount), zap.String("reason", msg.Result.Reason))
	case plan.Rising:
		a.log.Info("real server rising", zap.String("real", string(r.ID)),
			zap.Int("good", msg.State.Successes), zap.Int("rise", a.v.Settings.Rise))
	case plan.Same:
		if now == plan.Down && plan.ResendDue(a.v.Settings, a.lastMail[r.ID], at) {
			a.alert(r, plan.Down, at, true)
		}
	}
	if a.daemon == plan.Starting && a.allChecked() {
		a.daemon = plan.Running
	}
}

func (a *virtualActor) allChecked() bool {
	for _, r := range a.v.Reals {
		if a.statuses[r.ID] == plan.Unknown {
			return false
		}
	}
	return true
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
	m := plan.AlertMail(a.v, a.opts.Hostname, s.EmailAlertFrom, plan.AlertSubject(a.v, r, st, repeat), a.daemon)
	if s.SMTP == "" {
		a.effects.submit(m) // as Perl's Mail::Send does without smtp
		return
	}
	a.effects.mail(plan.SMTPAddr(s.SMTP), m)
}

// fallbackCommand runs fallbackcommand with start when the last real server
// went down and with stop when the first came back.
func (a *virtualActor) fallbackCommand() {
	anyUp := plan.AnyUp(a.v, a.statuses)
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
	d := plan.DiffReals(a.v, nv)
	a.v = nv
	for _, r := range d.Removed {
		if pid := a.probers[r.ID]; pid != nil {
			ctx.Stop(pid)
		}
		delete(a.probers, r.ID)
		delete(a.reals, r.ID)
		delete(a.statuses, r.ID)
		delete(a.lastMail, r.ID)
	}
	for _, r := range append(d.Same, d.Changed...) {
		if pid := a.probers[r.ID]; pid != nil {
			ctx.Send(pid, &messages.UpdateReal{Virtual: nv, Real: r})
		}
	}
	for _, r := range d.Added {
		a.spawn(ctx, r)
	}
	a.updateFallback(ctx)
}

// inspect is what the virtual knows of its reals and its fallback now.
func (a *virtualActor) inspect() plan.VirtualInspection {
	vi := plan.VirtualInspection{ID: a.v.ID, Reals: make([]plan.RealInspection, 0, len(a.v.Reals))}
	if len(a.v.Reals) > 0 {
		vi.CheckType = plan.NewProbe(a.v, a.v.Reals[0], 0).Kind
	}
	for _, r := range a.v.Reals {
		vi.Reals = append(vi.Reals, a.inspectReal(r.ID, a.reals[r.ID], a.statuses[r.ID], r.Weight))
	}
	if a.fb != nil {
		f := a.inspectReal(a.fbID, a.fb, a.fbStatus, plan.FallbackWeight)
		vi.Fallback = &f
	}
	return vi
}

func (a *virtualActor) inspectReal(id conf.RealID, kept *proberKept, st plan.Status, weight int) plan.RealInspection {
	var s realSeen
	if kept != nil {
		s = kept.lastSeen()
	}
	ri := plan.RealInspection{
		Real: id, State: st.String(), Since: s.since, Weight: weight,
		LastCheck: s.at, Latency: s.res.Duration, Reason: s.res.Reason, Failures: s.failures,
	}
	switch {
	case s.maintenance:
		ri.State = plan.StateMaintenance
	case st == plan.Down && a.v.Settings.Quiescent:
		ri.State = plan.StateQuiescent
	}
	return ri
}
