package actors

// The kernel's IPVS sync daemons, kept by the IPVS writer beside the
// table: each instance tells it, with *messages.SyncWanted at its start
// and at every reload, what its syncdaemon directive asks for; the
// writer brings the kernel's sync daemons to that (plan.PlanSyncDaemons)
// when told, and again on its periodic read of the table, so that one
// stopped by hand is started again. The sync daemons the writer started
// or adopted are its own: an instance's *messages.Release takes its
// wish away, so that the daemon's stop stops them, unless
// *messages.LeaveSyncDaemons came first (a restart: the next daemon
// adopts them). Only a table that is kernel.SyncDaemons has them.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// syncState is the writer's part that keeps the sync daemons; it lives in
// writerState, so that a writer restarted after a panic still knows its
// own.
type syncState struct {
	wants map[string][]kernel.SyncDaemon // by owner
	order []string
	owned map[string]plan.SyncOwned // by state
	// leave: the daemon is restarting; its sync daemons outlive it.
	leave bool
	// at is when they were last brought in step.
	at time.Time
	// said are what was logged last, so that what persists is logged
	// once: the table without sync daemons, dropped wishes, an error.
	unsupported bool
	dropped     string
	failed      string
}

func newSyncState() syncState {
	return syncState{wants: map[string][]kernel.SyncDaemon{}, owned: map[string]plan.SyncOwned{}}
}

// LeaveSyncDaemons has the kernel's sync daemons the daemon runs left
// running when it stops next, for a restart: the daemon that follows
// adopts them, and the connections they copy to the standby director
// keep being copied. Call it before Stop.
func (d *Daemon) LeaveSyncDaemons() error {
	if _, err := d.system.Root.RequestFuture(d.root, &messages.LeaveSyncDaemons{}, askTimeout).Result(); err != nil {
		return fmt.Errorf("leave the sync daemons running: %w", err)
	}
	return nil
}

// tellSync tells the writer what the instance's syncdaemon directive asks
// for.
func (in *instance) tellSync(ctx actor.Context) {
	ctx.Send(in.writer, &messages.SyncWanted{Owner: in.owner(), Daemons: plan.SyncWanted(in.cfg)})
}

// syncReceive takes the writer's sync daemon messages.
func (w *writer) syncReceive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.SyncWanted:
		s := &w.sync
		if !slices.Contains(s.order, msg.Owner) {
			s.order = append(s.order, msg.Owner)
		}
		if len(msg.Daemons) == 0 && len(s.wants[msg.Owner]) == 0 {
			return
		}
		s.wants[msg.Owner] = msg.Daemons
		w.syncDaemons("configuration")
	case *messages.LeaveSyncDaemons:
		w.sync.leave = true
		ctx.Respond(&messages.SyncDaemonsLeft{})
	}
}

// syncReleased forgets the wish of an instance that stops; unless the
// daemon restarts, the sync daemons no other instance wants stop.
func (w *writer) syncReleased(owner string) {
	s := &w.sync
	had := len(s.wants[owner]) > 0
	delete(s.wants, owner)
	s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == owner })
	if !had {
		return
	}
	if s.leave {
		if len(s.owned) > 0 {
			w.opts.Log.Info("restarting: the sync daemons are left running for the next daemon to adopt", zap.Int("sync_daemons", len(s.owned)))
			clear(s.owned)
		}
		return
	}
	w.syncDaemons("stop")
}

// syncResync brings the sync daemons in step on the writer's periodic
// read, at most twice a Resync.
func (w *writer) syncResync() {
	if time.Since(w.sync.at) >= w.opts.Resync/2 {
		w.syncDaemons("resync")
	}
}

// syncDaemons brings the kernel's sync daemons to those the instances
// want; why says what asked for it, for the logs.
func (w *writer) syncDaemons(why string) {
	s := &w.sync
	s.at = time.Now()
	lists := make([][]kernel.SyncDaemon, 0, len(s.order))
	for _, o := range s.order {
		lists = append(lists, s.wants[o])
	}
	want, dropped := plan.MergeSyncWanted(lists...)
	if d := fmt.Sprint(dropped); len(dropped) > 0 && d != s.dropped {
		w.opts.Log.Error("two configurations ask for a sync daemon of the same state with other settings; the kernel runs one of each: the first configuration to ask has it",
			zap.String("dropped", syncText(dropped...)))
		s.dropped = d
	}
	if len(want) == 0 && len(s.owned) == 0 {
		return
	}
	sd, ok := w.opts.Table.(kernel.SyncDaemons)
	if !ok {
		if !s.unsupported {
			w.opts.Log.Warn("sync daemons need the kernel's IPVS: this table has none, so syncdaemon is ignored", zap.String("wanted", syncText(want...)))
			s.unsupported = true
		}
		return
	}
	err := w.syncApply(sd, want, why)
	switch {
	case err != nil && err.Error() != s.failed:
		w.opts.Log.Error("sync daemons not as configured; will try again", zap.Error(err), zap.Duration("retry_in", w.opts.Resync))
		s.failed = err.Error()
	case err == nil && s.failed != "":
		w.opts.Log.Info("sync daemons as configured again")
		s.failed = ""
	}
}

// syncApply reads the sync daemons running, then stops and starts as
// plan.PlanSyncDaemons says.
func (w *writer) syncApply(sd kernel.SyncDaemons, want []kernel.SyncDaemon, why string) error {
	s := &w.sync
	running, err := sd.SyncDaemons()
	if err != nil {
		return fmt.Errorf("list the sync daemons: %w", err)
	}
	steps := plan.PlanSyncDaemons(want, running, s.owned)
	wanted := func(state string) kernel.SyncDaemon {
		i := slices.IndexFunc(want, func(d kernel.SyncDaemon) bool { return d.State == state })
		return want[i]
	}
	for _, d := range steps.Keep {
		s.owned[d.State] = plan.SyncOwned{Wanted: wanted(d.State), Running: d}
	}
	for _, d := range steps.Adopt {
		s.owned[d.State] = plan.SyncOwned{Wanted: wanted(d.State), Running: d}
		w.opts.Log.Info("sync daemon adopted as it runs", zap.String("sync_daemon", syncText(d)))
	}
	var errs []error
	failed := map[string]bool{}
	for _, d := range steps.Stop {
		if err := sd.StopSyncDaemon(d.State); err != nil && !errors.Is(err, kernel.ErrNotExist) {
			errs = append(errs, fmt.Errorf("stop the %s sync daemon: %w", d.State, err))
			failed[d.State] = true
			continue
		}
		delete(s.owned, d.State)
		if !slices.ContainsFunc(steps.Start, func(n kernel.SyncDaemon) bool { return n.State == d.State }) {
			w.opts.Log.Info("sync daemon stopped", zap.String("sync_daemon", syncText(d)), zap.String("why", why))
		}
	}
	var started []string
	for _, d := range steps.Start {
		if failed[d.State] {
			continue
		}
		if err := sd.StartSyncDaemon(d); err != nil {
			errs = append(errs, fmt.Errorf("start the %s sync daemon %s: %w", d.State, syncText(d), err))
			continue
		}
		_, again := s.owned[d.State]
		started = append(started, d.State)
		s.owned[d.State] = plan.SyncOwned{Wanted: d, Running: d}
		w.logStarted(d, running, again)
	}
	if len(started) > 0 {
		// What the kernel lists for them, its defaults filled in, is
		// what later reads are compared with.
		if now, err := sd.SyncDaemons(); err == nil {
			for _, r := range now {
				if o := s.owned[r.State]; slices.Contains(started, r.State) {
					s.owned[r.State] = plan.SyncOwned{Wanted: o.Wanted, Running: r}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// logStarted says why d was started: first, in place of one with other
// settings, or again, after it stopped under the daemon.
func (w *writer) logStarted(d kernel.SyncDaemon, running []kernel.SyncDaemon, again bool) {
	i := slices.IndexFunc(running, func(r kernel.SyncDaemon) bool { return r.State == d.State })
	switch {
	case i >= 0:
		w.opts.Log.Info("sync daemon replaced: it ran with other settings", zap.String("was", syncText(running[i])), zap.String("sync_daemon", syncText(d)))
	case again:
		w.opts.Log.Warn("sync daemon stopped under the daemon; started again", zap.String("sync_daemon", syncText(d)))
	default:
		w.opts.Log.Info("sync daemon started", zap.String("sync_daemon", syncText(d)))
	}
}

// syncText prints sync daemons as the syncdaemon directive writes them.
func syncText(ds ...kernel.SyncDaemon) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		b := []string{d.State, d.Interface, fmt.Sprintf("syncid=%d", d.SyncID)}
		if d.Group.IsValid() {
			b = append(b, "group="+d.Group.String())
		}
		if d.Port != 0 {
			b = append(b, fmt.Sprintf("port=%d", d.Port))
		}
		if d.TTL != 0 {
			b = append(b, fmt.Sprintf("ttl=%d", d.TTL))
		}
		if d.MaxLen != 0 {
			b = append(b, fmt.Sprintf("maxlen=%d", d.MaxLen))
		}
		out[i] = strings.Join(b, " ")
	}
	return strings.Join(out, ", ")
}
