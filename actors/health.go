package actors

// What an instance does with the health extensions beyond keeping the
// health: slowstart's ramps and their steps, failopen's hold of a
// virtual's table, loud when it begins and ends. The rules are plan's.

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// realChanged takes a real server's new status into the health, the
// slowstart ramps and the failopen judgement, and the table.
func (in *instance) realChanged(ctx actor.Context, msg *messages.RealChanged) {
	now := time.Now()
	in.health.Set(msg.Virtual, msg.Real, msg.Status)
	delete(in.built, msg.Virtual)
	v := in.virtual(msg.Virtual)
	switch {
	case v == nil:
	case msg.Returned && v.Settings.SlowStart > 0:
		in.ramps.Start(v.ID, msg.Real, now)
	case msg.Status != plan.Up:
		in.ramps.Stop(v.ID, msg.Real)
	}
	if v != nil && v.Settings.FailOpen > 0 {
		was := in.failOpen[v.ID]
		f := was.Judge(v, in.health[v.ID], msg.Real, msg.Status, msg.Maintenance, now)
		in.setFailOpen(ctx, v, was, f)
	}
	in.push(ctx)
	in.changed(msg.Virtual)
	in.reportSoon(ctx)
}

func (in *instance) virtual(id conf.VirtualID) *conf.Virtual {
	for _, v := range in.cfg.Virtuals {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// recheckFailOpen ends the hold of v's table when its time is up.
func (in *instance) recheckFailOpen(ctx actor.Context, id conf.VirtualID) {
	v := in.virtual(id)
	if v == nil {
		return
	}
	was := in.failOpen[id]
	in.setFailOpen(ctx, v, was, was.Recheck(v, in.health[id], time.Now()))
	in.push(ctx)
	in.changed(id)
	in.reportSoon(ctx)
}

// setFailOpen keeps f and says loudly when the hold of v's table begins
// and ends.
func (in *instance) setFailOpen(ctx actor.Context, v *conf.Virtual, was, f plan.FailOpen) {
	in.failOpen[v.ID] = f
	switch {
	case !was.Held() && f.Held():
		subject := fmt.Sprintf("Fail-open: %d of %d real servers of %s failed together; the table is held as it was",
			len(f.Downs), len(v.Reals), v.ID)
		in.log.Error("fail-open: so many real servers failed together that the fault is taken for the director's own; the table is held",
			zap.String("virtual", string(v.ID)), zap.Int("failed", len(f.Downs)), zap.Int("reals", len(v.Reals)),
			zap.Int("failopen_percent", v.Settings.FailOpen), zap.Duration("hold", v.Settings.FailOpenHold))
		in.alert(v, subject)
		self, root, id := ctx.Self(), ctx.ActorSystem().Root, v.ID
		time.AfterFunc(v.Settings.FailOpenHold, func() { root.Send(self, &failOpenDue{virtual: id}) })
	case was.Held() && !f.Held():
		in.log.Warn("fail-open over: the table follows the checks again", zap.String("virtual", string(v.ID)),
			zap.Duration("held", time.Since(was.Since)))
		in.alert(v, fmt.Sprintf("Fail-open over: the table of %s follows the checks again", v.ID))
	}
}

// alert mails subject about v, as emailalert says.
func (in *instance) alert(v *conf.Virtual, subject string) {
	s := v.Settings
	if !plan.MailWanted(s, plan.Running) {
		return
	}
	m := plan.AlertMail(v, in.opts.Hostname, s.EmailAlertFrom, subject, plan.Running)
	if s.SMTP == "" {
		in.effects.submit(m)
		return
	}
	in.effects.mail(plan.SMTPAddr(s.SMTP), m)
}

// stepAt has the table written again at the next slowstart step.
func (in *instance) stepAt(ctx actor.Context, at time.Time) {
	if !in.rampAt.IsZero() && !in.rampAt.After(at) {
		return
	}
	in.rampAt = at
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(time.Until(at), func() { root.Send(self, &rampStep{}) })
}
