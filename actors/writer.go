package actors

// The IPVS writer owns the table: it is the only caller of kernel/. It takes
// *messages.Desired (an instance's whole desired table, kept per owner),
// *messages.Release (an instance leaving; its services go except those kept
// for cleanstop = no) and *messages.Flush (apply now, answered with
// *messages.Flushed) and *messages.AwaitApplied (answered with
// *messages.Applied once the owners named are in the table). Updates that arrive together are applied once; the
// table is read back every Resync and repaired; failed writes are retried
// with a growing backoff, and the latest desired state is kept until it is
// in the table. It keeps the kernel's sync daemons too, as the
// instances' *messages.SyncWanted ask, stopping its own at their
// *messages.Release unless *messages.LeaveSyncDaemons (answered with
// *messages.SyncDaemonsLeft) said the daemon restarts (syncdaemon.go).
// It sends nothing to other actors.

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

type applyTick struct{ token *int }

// writerState is what the writer must not lose when it restarts after a
// panic: it outlives the writer's incarnations.
type writerState struct {
	owners  map[string]*messages.Desired
	order   []string
	retired plan.Retired
	// applied holds the owners whose desired state was in a table that
	// was written; waiters wait for theirs to be.
	applied map[string]bool
	waiters []waiter
	// sync keeps the kernel's sync daemons (syncdaemon.go).
	sync syncState
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
	st := &writerState{owners: map[string]*messages.Desired{}, retired: plan.Retired{}, applied: map[string]bool{}, sync: newSyncState()}
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
		w.syncReleased(msg.Owner)
		w.schedule(ctx, 0)
	case *messages.SyncWanted, *messages.LeaveSyncDaemons:
		w.syncReceive(ctx)
	case *messages.Flush:
		err := w.apply()
		ctx.Respond(&messages.Flushed{Err: err})
		w.answer(ctx, err)
		w.reschedule(ctx)
	case *messages.ReadTable:
		ctx.Respond(w.read())
	case *messages.AwaitApplied:
		w.waiters = append(w.waiters, waiter{to: ctx.Sender(), msg: msg})
		w.answer(ctx, nil)
	case *applyTick:
		if msg.token != w.token {
			return
		}
		w.timer = nil
		w.answer(ctx, w.apply())
		w.syncResync()
		w.reschedule(ctx)
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
		w.retired.Replaced(prev.Virtuals, d.Virtuals)
	}
	w.owners[d.Owner] = d
}

func (w *writer) release(r *messages.Release) {
	var prev []kernel.Virtual
	if d := w.owners[r.Owner]; d != nil {
		prev = d.Virtuals
	}
	delete(w.owners, r.Owner)
	w.order = slices.DeleteFunc(w.order, func(o string) bool { return o == r.Owner })
	w.retired.Released(prev, r.Services, r.Keep)
}

// apply makes the table match the union of the owners' desired tables.
func (w *writer) apply() error {
	began := time.Now()
	var desired []kernel.Virtual
	var optional []plan.Ref
	for _, o := range w.order {
		d := w.owners[o]
		desired = append(desired, d.Virtuals...)
		optional = append(optional, d.Optional...)
	}
	if len(optional) > 0 {
		actual, err := w.cache.List()
		if err != nil {
			w.opts.Observer.TableWritten(0, time.Since(began), err)
			return w.failed(err)
		}
		desired = plan.DropAbsentOptional(desired, actual, optional)
	}
	want := plan.ServiceKeys(desired)
	owned := func(k kernel.ServiceKey) bool { return want[k] || w.retired[k] }
	changes, err := w.cache.Sync(desired, owned)
	w.opts.Observer.TableWritten(len(changes), time.Since(began), err)
	if n := w.cache.Drift(); n > 0 {
		w.opts.Log.Warn("ipvs table changed under the daemon; put right", zap.Int("changes", n))
		w.opts.Observer.DriftRepaired(n)
	}
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

// read lists the table as the kernel holds it now, with its connections
// where it counts them.
func (w *writer) read() *messages.TableRead {
	if cr, ok := w.opts.Table.(kernel.ConnReader); ok {
		vs, conns, err := cr.ListConns()
		return &messages.TableRead{Virtuals: vs, Conns: conns, Err: err}
	}
	vs, err := w.opts.Table.List()
	return &messages.TableRead{Virtuals: vs, Err: err}
}
