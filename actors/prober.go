package actors

// A prober owns the health checking of one real server of one virtual
// service: its timer (checkinterval, with an offset so that probers do not
// fire together, and checkjitter), the maintenancedir test and the real
// server's state, decided here by plan.Judge. The state and the real as
// last reloaded live in a proberKept that the prober's producer hands to
// every incarnation: a prober restarted after a panic goes on from them,
// with nobody else holding a copy.
//
// A check costs the daemon little beside the check itself, as thousands
// run every second on directors with one CPU: the prober's one timer is
// re-armed, never made anew; the check runs on the goroutine the timer
// fires on (a checkRunner, which touches none of the actor's state), and
// its result comes back as one message that the prober takes on that same
// goroutine (the prober's mailbox runs on the sender's goroutine, see
// proberProps). The virtual actor hears of a check only when it has
// something to do with it: a change of state, a down real while alerts
// repeat, a monitorfile line, a debug line. What the last check found is
// kept in the proberKept for inspection.
//
// Takes: *messages.UpdateReal (reload) and its checks' results.
// Sends: *messages.Checked to the parent, as above (never for a check that
// the director's own shortage failed: that is logged once a burst, through
// Options.faults).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

type checkDone struct {
	token       *int
	started     time.Time     // when the timer fired for the check
	timeout     time.Duration // the check's deadline
	result      checks.Result
	maintenance bool // the result is a maintenance file's, not a check's
	panic       any
}

// proberKept is what a prober must not lose when it restarts: only the
// prober's incarnations touch v, r and state. seen is also read by the
// virtual actor for inspection, under mu.
type proberKept struct {
	v     *conf.Virtual
	r     *conf.Real
	state plan.RealState

	mu   sync.Mutex
	seen realSeen
}

// lastSeen is what the last check of the real found.
func (k *proberKept) lastSeen() realSeen {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.seen
}

// see keeps what a check found, at, and whether the real's status changed
// with it.
func (k *proberKept) see(res checks.Result, maintenance, changed bool, at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := &k.seen
	s.at, s.res, s.maintenance = at, res, maintenance
	if res.Up {
		s.failures = 0
	} else {
		s.failures++
	}
	if changed || s.since.IsZero() {
		s.since = at
	}
}

type prober struct {
	opts           Options
	maintenanceDir string
	sharing        *sharing
	*proberKept

	token  *int // this incarnation; stale results carry another
	runner *checkRunner
	spec   *checkSpec // the check, while it is the same every round
}

// checkSpec is what the runner checks when its timer next fires.
type checkSpec struct {
	probe *plan.Probe
	fresh time.Duration // how long a shared verdict serves other probers
	// loop is the check as the check loop runs it (Options.Loop); nil
	// when the loop does not run such checks.
	loop *checks.LoopCheck
}

func newProber(opts Options, maintenanceDir string, sh *sharing, kept *proberKept) actor.Producer {
	return func() actor.Actor {
		return &prober{opts: opts, maintenanceDir: maintenanceDir, sharing: sh, proberKept: kept, token: new(int)}
	}
}

// proberProps runs a prober's mailbox on the goroutine that sends to it
// (its runner's, or its virtual's): a prober never blocks in Receive, and
// a goroutine scheduled for every message was, with the check's own, most
// of what a check cost the daemon beside its syscalls.
func proberProps(opts Options, p actor.Producer) *actor.Props {
	return props(opts, p, 0).Configure(actor.WithDispatcher(actor.NewSynchronizedDispatcher(actorThroughput)))
}

// actorThroughput is protoactor's default: messages a mailbox takes in a
// row before it yields.
const actorThroughput = 300

func (p *prober) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.runner = newCheckRunner(&p.opts, p.maintenanceDir, p.sharing, p.r, p.v.ID, p.token, ctx.Self(), ctx.ActorSystem().Root)
		p.arm(plan.FirstOffset(p.v.Settings.CheckInterval, p.v.Settings.CheckJitter, string(p.r.ID), rand.Float64()))
	case *messages.UpdateReal:
		p.v, p.r, p.spec = msg.Virtual, msg.Real, nil
	case *checkDone:
		if msg.token != p.token {
			return
		}
		if msg.panic != nil {
			panic(fmt.Sprintf("check of real server %s panicked: %v", p.r.ID, msg.panic))
		}
		tr := p.observe(ctx, msg.result, msg.maintenance)
		p.arm(p.nextDelay(msg.started, msg.timeout, tr, time.Now()))
	case *actor.Stopping, *actor.Restarting:
		p.halt()
	}
}

// nextDelay is how long after now the next check starts, the last one
// having started at started with timeout. Checks start every checkinterval
// (with its jitter) counted from the first; one still running when the
// next was due skips it, as a timer ticking beside it would. After a soft
// failure the next check follows one timeout after the start of the last,
// so that a real server is out within checkinterval + timeout ×
// failurecount.
func (p *prober) nextDelay(started time.Time, timeout time.Duration, tr plan.Transition, now time.Time) time.Duration {
	if tr == plan.SoftFailure {
		return max(0, timeout-now.Sub(started))
	}
	s := p.v.Settings
	// At least a millisecond a step: checkjitter = 100 can draw a delay
	// of nothing, and the steps must reach now.
	step := func() time.Duration {
		return max(plan.CheckDelay(s.CheckInterval, s.CheckJitter, rand.Float64()), time.Millisecond)
	}
	next := started.Add(step())
	for !next.After(now) {
		next = next.Add(step())
	}
	return next.Sub(now)
}

// arm sets the runner's timer to check in d, with the check to run then.
func (p *prober) arm(d time.Duration) {
	p.runner.arm(d, p.nextSpec())
}

// nextSpec is the check to run next. It is the same check every round but
// with checktype = N, so it is made once and kept until a reload: made
// anew, it cost an allocation of its whole target per check.
func (p *prober) nextSpec() *checkSpec {
	if p.spec != nil {
		return p.spec
	}
	probe := plan.NewProbe(p.v, p.r, p.state.Round)
	spec := &checkSpec{probe: &probe, fresh: p.v.Settings.CheckInterval}
	if p.opts.Loop != nil && !probe.Fixed {
		spec.loop = p.opts.Loop.Plan(&spec.probe.Target)
	}
	if p.v.Check.Type != conf.CheckCombined {
		p.spec = spec
	}
	return spec
}

func (p *prober) observe(ctx actor.Context, res checks.Result, maintenance bool) plan.Transition {
	var tr plan.Transition
	now := time.Now()
	was := p.state.Status
	p.state, tr = plan.Judge(p.state, res, now, plan.RulesOf(p.v.Settings))
	if tr == plan.NoVerdict {
		// The director's fault, not the real's: nothing to tell.
		p.opts.faults.fault(p.r.ID, res.Reason, now)
		return tr
	}
	p.opts.faults.verdict(now)
	p.see(res, maintenance, was != p.state.Status, now)
	if p.tellParent(tr) {
		ctx.Send(ctx.Parent(), &messages.Checked{Real: p.r.ID, State: p.state, Transition: tr, Result: res, Maintenance: maintenance})
	}
	return tr
}

// tellParent says whether the virtual actor has something to do with a
// check that ended in tr; most checks, of a real whose status does not
// change, need nothing of it.
func (p *prober) tellParent(tr plan.Transition) bool {
	s := p.v.Settings
	switch {
	case tr != plan.Same:
		return true
	case p.v.MonitorFile != "":
		return true
	case p.state.Status == plan.Down && s.EmailAlertFreq > 0:
		return true
	}
	return p.opts.Log.Core().Enabled(zap.DebugLevel)
}

func (p *prober) halt() {
	if p.runner != nil {
		p.runner.halt()
	}
	p.token = new(int)
}

// checkRunner runs a prober's checks on its timer's goroutine. It touches
// none of the prober's state: the prober hands it the check to run with
// each arm, and it hands the result back as a checkDone. It never runs two
// checks at once: the prober arms it again only once the last is done.
type checkRunner struct {
	opts    *Options // the prober's
	dir     string
	sharing *sharing
	real    *conf.Real // for the maintenance file names: its address and port never change
	vid     conf.VirtualID
	token   *int
	self    *actor.PID
	root    *actor.RootContext

	// One of the two is set: the loop's timer when there is a check
	// loop (Options.Loop), else the runtime's.
	timer     *time.Timer
	loopTimer *checks.Timer
	spec      atomic.Pointer[checkSpec]
	// life ends with halt: a check waiting for the gate or a reverse
	// lookup ends with it. The check itself runs on a context of its
	// own, made from Background and canceled through cancel: one made
	// from life would leave a map of children in every runner.
	life context.Context
	end  context.CancelFunc

	mu      sync.Mutex
	stopped bool
	cancel  context.CancelFunc // of the check in flight
	wg      sync.WaitGroup

	// Only the timer's goroutine, one check at a time, uses these.
	names   []string // maintenance file names, from reverse DNS
	namesAt time.Time
}

func newCheckRunner(opts *Options, dir string, sh *sharing, r *conf.Real, vid conf.VirtualID, token *int, self *actor.PID, root *actor.RootContext) *checkRunner {
	c := &checkRunner{opts: opts, dir: dir, sharing: sh, real: r, vid: vid, token: token, self: self, root: root}
	c.life, c.end = context.WithCancel(context.Background())
	return c
}

func (c *checkRunner) arm(d time.Duration, spec *checkSpec) {
	c.spec.Store(spec)
	if c.opts.Loop != nil {
		if c.loopTimer == nil {
			c.loopTimer = c.opts.Loop.NewTimer(c.fireOnLoop)
		}
		c.loopTimer.Reset(d)
		return
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.fire)
		return
	}
	c.timer.Reset(d)
}

// halt stops the timer and ends a check in flight, and returns once it
// has ended.
func (c *checkRunner) halt() {
	c.mu.Lock()
	c.stopped = true
	cancel := c.cancel
	c.mu.Unlock()
	// Outside the lock: a check in the loop ends through its finish.
	if cancel != nil {
		cancel()
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.loopTimer != nil {
		c.loopTimer.Stop()
	}
	c.end()
	c.wg.Wait()
}

// fireOnLoop starts the check on the loop's goroutine, where its timer
// fired, when nothing on the way may block: a check the loop runs, let in
// by the gate at once, with no maintenance file to look for (a stat, a
// reverse lookup) and no verdict shared with other virtuals (which may
// wait for another's check). Any other check runs on a goroutine of its
// own, as with the runtime's timer.
func (c *checkRunner) fireOnLoop() {
	spec := c.spec.Load()
	switch {
	case spec.probe.Fixed:
		c.fireWith(false)
	case spec.loop != nil && c.dir == "" && c.sharing.checks(c.opts.shared) == nil && c.opts.gate.tryEnter():
		c.fireWith(true)
	default:
		go c.fire()
	}
}

// fire runs one check and sends its result to the prober.
func (c *checkRunner) fire() {
	c.fireWith(false)
}

// fireWith is fire; admitted says the gate has let the check in already.
func (c *checkRunner) fireWith(admitted bool) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		if admitted {
			c.opts.gate.leave()
		}
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	spec := c.spec.Load()
	done := &checkDone{token: c.token, started: time.Now(), timeout: spec.probe.Deadline}
	// The check has ended before its result is sent: the prober's
	// mailbox may run on the goroutine that sends, and a stop queued
	// there meanwhile halts the runner, which waits for the check.
	finish := func() {
		c.wg.Done()
		c.root.Send(c.self, done)
	}
	async := false
	defer func() {
		if v := recover(); v != nil {
			done.panic = v
		} else if async {
			return
		}
		finish()
	}()
	async = c.check(spec, done, finish, admitted)
}

// check runs the check of spec into done. The gate lets it in at once
// unless the daemon is short of CPU; one that must wait gets its deadline
// once it is let in. It reports true when the check goes on in the loop
// (Options.Loop), which calls finish once it has ended. admitted says the
// gate has let it in already.
func (c *checkRunner) check(spec *checkSpec, done *checkDone, finish func(), admitted bool) (async bool) {
	probe := spec.probe
	if probe.Fixed {
		done.result = probe.Verdict
		return false
	}
	gate := c.opts.gate
	if !admitted && !gate.tryEnter() {
		if err := gate.enter(c.life); err != nil {
			done.result = checks.Result{Reason: "stopped while waiting to run"}
			return false
		}
	}
	if f, ok := plan.InMaintenance(c.dir, c.maintenanceNames()); ok {
		gate.leave()
		done.result, done.maintenance = checks.Result{Reason: "maintenance file " + f}, true
		return false
	}
	shared := c.sharing.checks(c.opts.shared)
	// A check admitted on the loop's goroutine stays in the loop even if
	// a reload turned shared checks on since fireOnLoop looked: run here,
	// it would hold every other check of the loop.
	if spec.loop != nil && (shared == nil || admitted) {
		c.inLoop(probe, spec.loop, done, finish)
		return true
	}
	defer gate.leave()
	done.result = c.run(probe, spec, shared)
	return false
}

// inLoop starts the check in the loop.
func (c *checkRunner) inLoop(probe *plan.Probe, lc *checks.LoopCheck, done *checkDone, finish func()) {
	start := time.Now()
	pending := c.opts.Loop.Run(lc, func(res checks.Result, canceled bool) {
		res.Duration = time.Since(start)
		// A stopping prober drops its result; one that is the
		// director's fault says nothing of the real.
		if !canceled && !res.DirectorFault {
			c.opts.Observer.CheckDone(c.vid, probe.Kind, res)
		}
		c.opts.gate.leave()
		// Not kept for the next check: the pending check holds its
		// target and this result, 10,000 reals of them.
		c.running(nil)
		done.result = res
		finish()
	})
	if !c.running(pending.Cancel) {
		pending.Cancel()
	}
}

// run runs the check on this goroutine.
func (c *checkRunner) run(probe *plan.Probe, spec *checkSpec, shared *sharedChecks) checks.Result {
	cctx, cancel := probe.Context(context.Background())
	defer cancel()
	if !c.running(cancel) {
		return checks.Result{Reason: "stopped before the check ran"}
	}
	defer c.running(nil)
	// Observed where the check runs: a verdict shared by several
	// virtuals is one check, counted once.
	run := func() checks.Result {
		res := probe.Run(cctx, c.opts.Check)
		// A stopping prober drops its result; one that is the
		// director's fault says nothing of the real.
		if !errors.Is(cctx.Err(), context.Canceled) && !res.DirectorFault {
			c.opts.Observer.CheckDone(c.vid, probe.Kind, res)
		}
		return res
	}
	if shared == nil {
		return run()
	}
	return shared.do(plan.ShareKey(*probe), spec.fresh, run)
}

// running notes cancel as the way to end the check in flight (nil: none
// is), and reports false once halt has begun: then no check may start.
func (c *checkRunner) running(cancel context.CancelFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancel = cancel
	return !c.stopped
}

// maintenanceNames are looked up again at most every minute, as a reverse
// DNS lookup may be slow.
func (c *checkRunner) maintenanceNames() []string {
	if c.dir == "" {
		return nil
	}
	if c.names != nil && time.Since(c.namesAt) < time.Minute {
		return c.names
	}
	var hosts []string
	if c.opts.LookupAddr != nil {
		ctx, cancel := context.WithTimeout(c.life, time.Second)
		hosts, _ = c.opts.LookupAddr(ctx, c.real.Addr.String())
		cancel()
	}
	c.names, c.namesAt = plan.MaintenanceNames(c.real.Addr, c.real.Port, hosts), time.Now()
	return c.names
}
