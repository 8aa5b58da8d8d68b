package actors

// The fallback prober is an ordinary prober run by the virtual actor on
// the fallback server as plan.FallbackProbe describes it. Its results are
// logged and reported in the status; the Perl ldirectord never checks a
// fallback server, and its health changes nothing in the table.

import (
	"net/netip"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// spawnFallback starts the fallback's prober, from the state it kept if
// the virtual restarted.
func (a *virtualActor) spawnFallback(ctx actor.Context) {
	pv, fb, ok := plan.FallbackProbe(a.v)
	if !ok {
		return
	}
	if a.fb == nil || a.fbID != fb.ID {
		a.fb, a.fbID, a.fbAddr, a.fbStatus = &proberKept{v: pv, r: fb}, fb.ID, netip.AddrPortFrom(fb.Addr, fb.Port), plan.Unknown
	}
	a.fbProber = ctx.Spawn(proberProps(a.opts, newProber(a.opts, "", nil, a.fb)))
}

// updateFallback follows a reload: the same fallback server keeps its
// prober and state, another one gets a new prober.
func (a *virtualActor) updateFallback(ctx actor.Context) {
	pv, fb, ok := plan.FallbackProbe(a.v)
	if ok && a.fbProber != nil && fb.ID == a.fbID {
		ctx.Send(a.fbProber, &messages.UpdateReal{Virtual: pv, Real: fb})
		return
	}
	if a.fbProber != nil {
		ctx.Stop(a.fbProber)
		a.fbProber, a.fb, a.fbID = nil, nil, ""
		ctx.Send(ctx.Parent(), &messages.FallbackChecked{Virtual: a.v.ID})
	}
	a.spawnFallback(ctx)
}

func (a *virtualActor) fallbackChecked(ctx actor.Context, msg *messages.Checked) {
	a.fbStatus = msg.State.Status
	a.log.Debug("checked fallback", zap.Stringer("fallback", a.fbAddr), zap.Bool("up", msg.Result.Up),
		zap.String("reason", msg.Result.Reason), zap.Duration("took", msg.Result.Duration))
	if msg.Transition != plan.WentUp && msg.Transition != plan.WentDown {
		return
	}
	a.log.Info("fallback server "+msg.State.Status.String(), zap.Stringer("fallback", a.fbAddr),
		zap.String("reason", msg.Result.Reason), zap.Duration("took", msg.Result.Duration))
	ctx.Send(ctx.Parent(), &messages.FallbackChecked{Virtual: a.v.ID, FallbackState: plan.FallbackState{
		Fallback: a.fbAddr, Status: msg.State.Status, Reason: msg.Result.Reason,
	}})
}
