package actors

// A prober owns the health checking of one real server of one virtual
// service: its timer (checkinterval, with an offset so that probers do not
// fire together, and checkjitter), the check in flight (run off the actor through
// plan.Probe, so that a slow server delays nothing), the maintenancedir test
// and the real server's state, decided here by plan.Judge. The state and
// the real as last reloaded live in a proberKept that the prober's
// producer hands to every incarnation: a prober restarted after a panic
// goes on from them, with nobody else holding a copy.
//
// Takes: *messages.UpdateReal (reload), its own ticks and check results.
// Sends: *messages.Checked to the parent after every check that judged the
// real (not one the director's own shortage failed: that is logged once
// a burst, through Options.faults).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

type proberTick struct{ token *int }

type checkDone struct {
	token       *int
	result      checks.Result
	maintenance bool // the result is a maintenance file's, not a check's
	panic       any
}

// proberKept is what a prober must not lose when it restarts: only the
// prober's incarnations touch it, one at a time.
type proberKept struct {
	v     *conf.Virtual
	r     *conf.Real
	state plan.RealState
}

type prober struct {
	opts           Options
	maintenanceDir string
	sharing        *sharing
	*proberKept

	token   *int // this incarnation; stale ticks and results carry another
	timer   *time.Timer
	running bool
	started time.Time // of the check in flight
	timeout time.Duration
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	names   []string // maintenance file names, from reverse DNS
	namesAt time.Time
	probe   *plan.Probe // the check, while it is the same every round
}

func newProber(opts Options, maintenanceDir string, sh *sharing, kept *proberKept) actor.Producer {
	return func() actor.Actor {
		return &prober{opts: opts, maintenanceDir: maintenanceDir, sharing: sh, proberKept: kept, token: new(int)}
	}
}

func (p *prober) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.after(ctx, plan.FirstOffset(p.v.Settings.CheckInterval, p.v.Settings.CheckJitter, string(p.r.ID), rand.Float64()))
	case *messages.UpdateReal:
		p.v, p.r, p.probe = msg.Virtual, msg.Real, nil
	case *proberTick:
		if msg.token != p.token {
			return
		}
		p.after(ctx, plan.CheckDelay(p.v.Settings.CheckInterval, p.v.Settings.CheckJitter, rand.Float64()))
		if !p.running {
			p.start(ctx)
		}
	case *checkDone:
		if msg.token != p.token {
			return
		}
		p.running = false
		if msg.panic != nil {
			panic(fmt.Sprintf("check of real server %s panicked: %v", p.r.ID, msg.panic))
		}
		if p.observe(ctx, msg.result, msg.maintenance) == plan.SoftFailure {
			// The next check follows at once, one timeout after the
			// start of this one, so that a real server is out within
			// checkinterval + timeout × failurecount.
			p.after(ctx, max(0, p.timeout-time.Since(p.started)))
		}
	case *actor.Stopping, *actor.Restarting:
		p.halt()
	}
}

func (p *prober) after(ctx actor.Context, d time.Duration) {
	if p.timer != nil {
		p.timer.Stop()
	}
	tok, self, root := p.token, ctx.Self(), ctx.ActorSystem().Root
	p.timer = time.AfterFunc(d, func() { root.Send(self, &proberTick{token: tok}) })
}

// start runs one check off the actor; its result comes back as checkDone.
func (p *prober) start(ctx actor.Context) {
	probe := p.nextProbe()
	if probe.Fixed {
		p.observe(ctx, probe.Verdict, false)
		return
	}
	names := p.maintenanceNames()
	// A check the gate lets in at once (always, unless the daemon is
	// short of CPU) has its deadline from now. One that must wait gets a
	// context that only the prober's stop ends, and its deadline once it
	// is let in.
	gate := p.opts.gate
	admitted := gate.tryEnter()
	var cctx context.Context
	var cancel context.CancelFunc
	if admitted {
		cctx, cancel = probe.Context(context.Background())
	} else {
		cctx, cancel = context.WithCancel(context.Background())
	}
	p.running, p.cancel = true, cancel
	p.started, p.timeout = time.Now(), probe.Deadline
	tok, self, root, check, dir, shared := p.token, ctx.Self(), ctx.ActorSystem().Root, p.opts.Check, p.maintenanceDir, p.sharing.checks(p.opts.shared)
	fresh := p.v.Settings.CheckInterval
	obs, vid, kind := p.opts.Observer, p.v.ID, probe.Kind
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer cancel()
		done := &checkDone{token: tok}
		defer func() {
			if v := recover(); v != nil {
				done.panic = v
			}
			root.Send(self, done)
		}()
		if !admitted {
			if err := gate.enter(cctx); err != nil {
				done.result = checks.Result{Reason: "stopped while waiting to run"}
				return
			}
			var cancelCheck context.CancelFunc
			cctx, cancelCheck = probe.Context(cctx)
			defer cancelCheck()
		}
		defer gate.leave()
		if f, ok := plan.InMaintenance(dir, names); ok {
			done.result, done.maintenance = checks.Result{Reason: "maintenance file " + f}, true
			return
		}
		// Observed where the check runs: a verdict shared by several
		// virtuals is one check, counted once.
		run := func() checks.Result {
			res := probe.Run(cctx, check)
			// A stopping prober drops its result; one that is the
			// director's fault says nothing of the real.
			if !errors.Is(cctx.Err(), context.Canceled) && !res.DirectorFault {
				obs.CheckDone(vid, kind, res)
			}
			return res
		}
		if shared == nil {
			done.result = run()
			return
		}
		done.result = shared.do(plan.ShareKey(*probe), fresh, run)
	}()
}

// nextProbe is the check to run now. It is the same check every round but
// with checktype = N, so it is made once and kept until a reload: made
// anew, it cost an allocation of its whole target per check. The checks
// in flight only read it.
func (p *prober) nextProbe() *plan.Probe {
	if p.probe != nil {
		return p.probe
	}
	probe := plan.NewProbe(p.v, p.r, p.state.Round)
	if p.v.Check.Type != conf.CheckCombined {
		p.probe = &probe
	}
	return &probe
}

// maintenanceNames are looked up again at most every minute, as a reverse
// DNS lookup may be slow.
func (p *prober) maintenanceNames() []string {
	if p.maintenanceDir == "" {
		return nil
	}
	if p.names != nil && time.Since(p.namesAt) < time.Minute {
		return p.names
	}
	var hosts []string
	if p.opts.LookupAddr != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		hosts, _ = p.opts.LookupAddr(ctx, p.r.Addr.String())
		cancel()
	}
	p.names, p.namesAt = plan.MaintenanceNames(p.r.Addr, p.r.Port, hosts), time.Now()
	return p.names
}

func (p *prober) observe(ctx actor.Context, res checks.Result, maintenance bool) plan.Transition {
	var tr plan.Transition
	now := time.Now()
	p.state, tr = plan.Judge(p.state, res, now, plan.RulesOf(p.v.Settings))
	if tr == plan.NoVerdict {
		// The director's fault, not the real's: nothing to tell.
		p.opts.faults.fault(p.r.ID, res.Reason, now)
		return tr
	}
	p.opts.faults.verdict(now)
	ctx.Send(ctx.Parent(), &messages.Checked{Real: p.r.ID, State: p.state, Transition: tr, Result: res, Maintenance: maintenance})
	return tr
}

func (p *prober) halt() {
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.token = new(int)
}
