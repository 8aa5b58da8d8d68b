package actors

// A prober owns the health checking of one real server of one virtual
// service: its timer (checkinterval, with a random offset so that probers do
// not fire together), the check in flight (bounded by its timeout, run off
// the actor so that a slow server delays nothing) and the maintenancedir
// test. Its state (up/down, failure count) lives in plan.RealState and is
// copied to the parent virtual actor with every result, which hands it back
// when the prober restarts after a panic.
//
// Takes: *messages.RestoreReal (answer to *messages.ProberStarted, sent to
// the parent on start), *messages.UpdateReal (reload), its own ticks and
// check results. Sends: *messages.ProberStarted and *messages.Checked to the
// parent.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/ldirectord-go/ldirectord/plan"
	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
)

type proberTick struct{ token *int }

type checkDone struct {
	token  *int
	result checks.Result
	panic  any
}

// crash makes the actor that takes it panic; tests use it to show
// supervision at work.
type crash struct{}

type prober struct {
	opts           Options
	maintenanceDir string
	v              *conf.Virtual
	r              *conf.Real

	token    *int // this incarnation; stale ticks and results carry another
	restored bool
	state    plan.RealState
	timer    *time.Timer
	running  bool
	started  time.Time // of the check in flight
	timeout  time.Duration
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	names    []string // maintenance file names, from reverse DNS
	namesAt  time.Time
}

func newProber(opts Options, maintenanceDir string, v *conf.Virtual, r *conf.Real) actor.Producer {
	return func() actor.Actor {
		return &prober{opts: opts, maintenanceDir: maintenanceDir, v: v, r: r, token: new(int)}
	}
}

func (p *prober) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ctx.Request(ctx.Parent(), &messages.ProberStarted{Real: p.r.ID})
	case *messages.RestoreReal:
		if p.restored {
			return
		}
		p.restored, p.state = true, msg.State
		p.after(ctx, firstOffset(p.v.Settings.CheckInterval))
	case *messages.UpdateReal:
		p.v, p.r = msg.Virtual, msg.Real
	case *proberTick:
		if msg.token != p.token {
			return
		}
		p.after(ctx, p.v.Settings.CheckInterval)
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
		if p.observe(ctx, msg.result) == plan.SoftFailure {
			// The next check follows at once, one timeout after the
			// start of this one, so that a real server is out within
			// checkinterval + timeout × failurecount.
			p.after(ctx, max(0, p.timeout-time.Since(p.started)))
		}
	case *crash:
		panic("crash requested")
	case *actor.Stopping, *actor.Restarting:
		p.halt()
	}
}

// firstOffset spreads the first checks of all probers over a short time.
func firstOffset(interval time.Duration) time.Duration {
	spread := firstSpread(interval)
	if spread <= 0 {
		return 0
	}
	return rand.N(spread)
}

// firstSpread is the time the first checks are spread over: the whole
// checkinterval, up to a second. Thousands of checks started together
// would each hold their connection, buffers and goroutines at once, and
// the daemon's peak memory would be theirs.
func firstSpread(interval time.Duration) time.Duration {
	return min(interval, time.Second)
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
	target := plan.Target(p.v, p.r, p.state.Round)
	if up, fixed := plan.Fixed(target.Check.Type); fixed {
		p.observe(ctx, checks.Result{Up: up, Reason: "checktype " + string(target.Check.Type)})
		return
	}
	names := p.maintenanceNames()
	deadline := plan.Deadline(target)
	gate := p.opts.gate
	// A check the gate lets in at once (always, unless the daemon is
	// short of CPU) has its deadline from now. One that must wait gets a
	// context that only the prober's stop ends, and its deadline once it
	// is let in.
	admitted := gate.tryEnter()
	var cctx context.Context
	var cancel context.CancelFunc
	if admitted {
		cctx, cancel = context.WithTimeout(context.Background(), deadline)
	} else {
		cctx, cancel = context.WithCancel(context.Background())
	}
	p.running, p.cancel = true, cancel
	p.started, p.timeout = time.Now(), deadline
	tok, self, root, check, dir := p.token, ctx.Self(), ctx.ActorSystem().Root, p.opts.Check, p.maintenanceDir
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
			cctx, cancelCheck = context.WithTimeout(cctx, deadline)
			defer cancelCheck()
		}
		defer gate.leave()
		if f, ok := plan.InMaintenance(dir, names); ok {
			done.result = checks.Result{Reason: "maintenance file " + f}
			return
		}
		start := time.Now()
		done.result = check(cctx, target)
		if done.result.Duration == 0 {
			done.result.Duration = time.Since(start)
		}
	}()
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

func (p *prober) observe(ctx actor.Context, res checks.Result) plan.Transition {
	var tr plan.Transition
	p.state, tr = plan.Observe(p.state, res.Up, p.v.Settings.FailureCount)
	ctx.Send(ctx.Parent(), &messages.Checked{Real: p.r.ID, State: p.state, Transition: tr, Result: res})
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
