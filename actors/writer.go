package actors

// The IPVS writer owns the table: it is the only caller of kernel/. It takes
// *messages.Desired (an instance's whole desired table, kept per owner),
// *messages.Release (an instance leaving; its services go except those kept
// for cleanstop = no) and *messages.Flush (apply now, answered with
// *messages.Flushed) and *messages.AwaitApplied (answered with
// *messages.Applied once the owners named are in the table). Updates that arrive together are applied once; the
// table is read back every Resync and repaired; failed writes are retried
// with a growing backoff, and the latest desired state is kept until it is
// in the table. It sends nothing to other actors.

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/messages"
)

type applyTick struct{ token *int }

// writerState is what the writer must not lose when it restarts after a
// panic: it outlives the writer's incarnations.
type writerState struct {
	owners  map[string]*messages.Desired
	order   []string
	retired map[kernel.ServiceKey]bool
	// applied holds the owners whose desired state was in a table that
	// was written; waiters wait for theirs to be.
	applied map[string]bool
	waiters []waiter
}

// waiter is an AwaitApplied not yet answered.
type waiter struct {
	to  *actor.PID
	msg *messages.AwaitApplied
}

type writer struct {
	opts Options
	*writerState
	// cache is the table as last read and written: a write needs no
	// read of the whole table first. It is read again every Resync.
	cache   *kernel.Cached
	timer   *time.Timer
	token   *int
	due     time.Time
	backoff time.Duration
	failing bool
}

func newWriter(opts Options) actor.Producer {
	st := &writerState{owners: map[string]*messages.Desired{}, retired: map[kernel.ServiceKey]bool{}, applied: map[string]bool{}}
	return func() actor.Actor {
		return &writer{opts: opts, writerState: st, cache: kernel.NewCached(opts.Table, opts.Resync)}
	}
}

func (w *writer) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		w.schedule(ctx, w.opts.Resync)
	case *messages.Desired:
		w.setOwner(msg)
		if ctx.Sender() != nil {
			ctx.Respond(&messages.DesiredTaken{Owner: msg.Owner})
		}
		w.schedule(ctx, w.opts.Coalesce)
	case *messages.Release:
		w.release(msg)
		w.schedule(ctx, 0)
	case *messages.Flush:
		err := w.apply()
		ctx.Respond(&messages.Flushed{Err: err})
		w.answer(ctx, err)
		w.reschedule(ctx)
	case *messages.AwaitApplied:
		w.waiters = append(w.waiters, waiter{to: ctx.Sender(), msg: msg})
		w.answer(ctx, nil)
	case *applyTick:
		if msg.token != w.token {
			return
		}
		w.timer = nil
		w.answer(ctx, w.apply())
		w.reschedule(ctx)
	case *crash:
		panic("crash requested")
	case *actor.Stopping, *actor.Restarting:
		w.stopTimer()
	}
}

func (w *writer) setOwner(d *messages.Desired) {
	prev, ok := w.owners[d.Owner]
	if !ok {
		w.order = append(w.order, d.Owner)
	}
	if prev != nil {
		keep := keys(d.Virtuals)
		for k := range keys(prev.Virtuals) {
			if !keep[k] {
				w.retired[k] = true
			}
		}
	}
	w.owners[d.Owner] = d
}

func (w *writer) release(r *messages.Release) {
	prev := w.owners[r.Owner]
	delete(w.owners, r.Owner)
	for i, o := range w.order {
		if o == r.Owner {
			w.order = append(w.order[:i:i], w.order[i+1:]...)
			break
		}
	}
	keep := map[kernel.ServiceKey]bool{}
	for _, s := range r.Keep {
		keep[s.Key()] = true
	}
	gone := map[kernel.ServiceKey]bool{}
	for _, s := range r.Services {
		gone[s.Key()] = true
	}
	if prev != nil {
		for k := range keys(prev.Virtuals) {
			gone[k] = true
		}
	}
	for k := range gone {
		if !keep[k] {
			w.retired[k] = true
		}
	}
}

func keys(vs []kernel.Virtual) map[kernel.ServiceKey]bool {
	m := make(map[kernel.ServiceKey]bool, len(vs))
	for _, v := range vs {
		m[v.Service.Key()] = true
	}
	return m
}

// apply makes the table match the union of the owners' desired tables.
func (w *writer) apply() error {
	var desired []kernel.Virtual
	var optional []*messages.Desired
	for _, o := range w.order {
		d := w.owners[o]
		desired = append(desired, d.Virtuals...)
		if len(d.Optional) > 0 {
			optional = append(optional, d)
		}
	}
	if len(optional) > 0 {
		actual, err := w.cache.List()
		if err != nil {
			return w.failed(err)
		}
		desired = dropAbsentOptional(desired, actual, optional)
	}
	want := keys(desired)
	owned := func(k kernel.ServiceKey) bool { return want[k] || w.retired[k] }
	began := time.Now()
	changes, err := w.cache.Sync(desired, owned)
	for _, c := range changes {
		w.opts.Log.Info("ipvs change", zap.String("change", c.String()))
	}
	if len(changes) > 0 {
		w.opts.Log.Info("ipvs table written", zap.Int("changes", len(changes)), zap.Duration("took", time.Since(began)))
	}
	if err != nil {
		return w.failed(err)
	}
	clear(w.retired)
	for o := range w.owners {
		w.applied[o] = true
	}
	if w.failing {
		w.opts.Log.Info("ipvs table in step again")
	}
	w.failing, w.backoff = false, 0
	return nil
}

func (w *writer) failed(err error) error {
	if w.backoff == 0 {
		w.backoff = 100 * time.Millisecond
	} else {
		w.backoff = min(2*w.backoff, w.opts.BackoffMax)
	}
	w.failing = true
	w.opts.Log.Error("ipvs table update failed; will retry", zap.Error(err), zap.Duration("retry_in", w.backoff))
	return err
}

// answer tells the waiters whose owners are all in the table so, and those
// past their deadline the error of the last write, if it failed.
func (w *writer) answer(ctx actor.Context, err error) {
	now := time.Now()
	kept := w.waiters[:0]
	for _, wt := range w.waiters {
		switch {
		case w.allApplied(wt.msg.Owners):
			ctx.Send(wt.to, &messages.Applied{})
		case err != nil && !now.Before(wt.msg.Deadline):
			ctx.Send(wt.to, &messages.Applied{Err: err})
		default:
			kept = append(kept, wt)
		}
	}
	w.waiters = kept
}

func (w *writer) allApplied(owners []string) bool {
	for _, o := range owners {
		if !w.applied[o] {
			return false
		}
	}
	return true
}

// dropAbsentOptional removes from desired the optional destinations that
// are not in the actual table.
func dropAbsentOptional(desired, actual []kernel.Virtual, opt []*messages.Desired) []kernel.Virtual {
	present := map[kernel.ServiceKey]map[kernel.DestKey]bool{}
	for _, v := range actual {
		m := map[kernel.DestKey]bool{}
		for _, d := range v.Destinations {
			m[d.Normalize(v.Service).Key()] = true
		}
		present[v.Service.Key()] = m
	}
	skip := map[kernel.ServiceKey]map[kernel.DestKey]bool{}
	for _, o := range opt {
		for _, r := range o.Optional {
			sk, dk := r.Service.Key(), r.Dest.Normalize(r.Service).Key()
			if present[sk][dk] {
				continue
			}
			if skip[sk] == nil {
				skip[sk] = map[kernel.DestKey]bool{}
			}
			skip[sk][dk] = true
		}
	}
	if len(skip) == 0 {
		return desired
	}
	out := make([]kernel.Virtual, 0, len(desired))
	for _, v := range desired {
		s := skip[v.Service.Key()]
		if s == nil {
			out = append(out, v)
			continue
		}
		nv := kernel.Virtual{Service: v.Service}
		for _, d := range v.Destinations {
			if !s[d.Normalize(v.Service).Key()] {
				nv.Destinations = append(nv.Destinations, d)
			}
		}
		out = append(out, nv)
	}
	return out
}

// reschedule sets the next apply: after the backoff when failing, else the
// drift check after Resync.
func (w *writer) reschedule(ctx actor.Context) {
	w.stopTimer()
	if w.failing {
		w.schedule(ctx, w.backoff)
		return
	}
	w.schedule(ctx, w.opts.Resync)
}

// schedule makes an apply happen within d, keeping an earlier one.
func (w *writer) schedule(ctx actor.Context, d time.Duration) {
	at := time.Now().Add(d)
	if w.timer != nil && !w.due.After(at) {
		return
	}
	w.stopTimer()
	tok := new(int)
	w.token, w.due = tok, at
	self, root := ctx.Self(), ctx.ActorSystem().Root
	w.timer = time.AfterFunc(d, func() { root.Send(self, &applyTick{token: tok}) })
}

func (w *writer) stopTimer() {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.token = nil
}
