package actors

// The root supervisor owns the IPVS writer and one instance per
// configuration, and keeps the latest status report of each. An instance
// that fails is restarted, a bounded number of times. The root never waits
// for its children inside Receive: what it asks them is answered through
// protoactor's ReenterAfter, so its mailbox (supervision included) keeps
// moving while an instance reloads or the writer writes. On shutdown it
// asks every instance to leave the table as cleanstop says, then has the
// writer apply that before it answers.
//
// Takes: *messages.Reload (to the instance of that file), *messages.ReloadAll
// (instances started, reloaded and stopped to match), *messages.ReloadFile
// (to every instance), *messages.Reported from the instances,
// *messages.Status (answered from the reports), *messages.Inspect
// (answered for Daemon.Inspect, see inspect.go), *messages.Shutdown,
// *messages.AwaitApplied (to the writer, naming every instance),
// *messages.LeaveSyncDaemons (forwarded to the writer). Answers
// with *messages.Reloaded, *messages.StatusReports and *messages.Stopped;
// the writer answers *messages.Applied.

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// askTimeout bounds a question to an actor; reload and shutdown are quick,
// the writer's flush does the table writes.
const askTimeout = 30 * time.Second

type root struct {
	opts      Options
	cfgs      []*conf.Config
	writer    *actor.PID
	instances []*actor.PID
	files     []string
	reports   map[string]*plan.Report // by file
	stopping  bool
}

func newRoot(opts Options, cfgs []*conf.Config) actor.Producer {
	return func() actor.Actor { return &root{opts: opts, cfgs: cfgs, reports: map[string]*plan.Report{}} }
}

func (r *root) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.writer = ctx.Spawn(props(r.opts, newWriter(r.opts), 0))
		for _, c := range r.cfgs {
			r.spawn(ctx, c)
		}
	case *messages.ReloadAll:
		r.reloadAll(ctx, msg.Configs)
	case *messages.AwaitApplied:
		ctx.RequestWithCustomSender(r.writer,
			&messages.AwaitApplied{Owners: slices.Clone(r.files), Deadline: msg.Deadline}, ctx.Sender())
	case *messages.Reload:
		i := slices.Index(r.files, msg.Config.File)
		if i < 0 || r.stopping {
			ctx.Respond(&messages.Reloaded{Err: fmt.Errorf("reload: no running configuration %s", msg.Config.File)})
			return
		}
		gather(ctx, []question{{r.instances[i], msg, "reload"}}, r.answerReloaded(ctx))
	case *messages.ReloadFile:
		qs := make([]question, len(r.instances))
		for i, pid := range r.instances {
			qs[i] = question{pid, msg, "reload"}
		}
		gather(ctx, qs, r.answerReloaded(ctx))
	case *messages.Reported:
		if slices.Contains(r.files, msg.File) {
			r.reports[msg.File] = msg.Report
			select {
			case r.opts.statusChanged <- struct{}{}:
			default:
			}
		}
	case *messages.Status:
		out := make([]*plan.Report, 0, len(r.files))
		for _, f := range r.files {
			if rep := r.reports[f]; rep != nil {
				out = append(out, rep)
			}
		}
		ctx.Respond(&messages.StatusReports{Reports: out})
	case *messages.Inspect:
		r.inspect(ctx)
	case *messages.Shutdown:
		r.shutdown(ctx)
	case *messages.LeaveSyncDaemons:
		ctx.Forward(r.writer)
	}
}

// reloadAll makes the running instances those of cfgs: the instances of
// files still named reload, new files get one, the others stop.
func (r *root) reloadAll(ctx actor.Context, cfgs []*conf.Config) {
	if r.stopping {
		ctx.Respond(&messages.Reloaded{Err: errors.New("reload: the daemon is stopping")})
		return
	}
	var qs []question
	named := map[string]bool{}
	for _, c := range cfgs {
		named[c.File] = true
		if i := slices.Index(r.files, c.File); i >= 0 {
			qs = append(qs, question{r.instances[i], &messages.Reload{Config: c}, "reload"})
			continue
		}
		r.spawn(ctx, c)
	}
	for i := len(r.files) - 1; i >= 0; i-- {
		if named[r.files[i]] {
			continue
		}
		pid := r.instances[i]
		qs = append(qs, question{pid, &messages.Shutdown{}, "stop the instance of " + r.files[i]})
		delete(r.reports, r.files[i])
		r.files = slices.Delete(r.files, i, i+1)
		r.instances = slices.Delete(r.instances, i, i+1)
	}
	respond := r.answerReloaded(ctx)
	gather(ctx, qs, func(answers []any, errs []error) {
		for _, q := range qs {
			if _, ok := q.msg.(*messages.Shutdown); ok {
				ctx.Stop(q.to)
			}
		}
		respond(answers, errs)
	})
}

// shutdown asks every instance to release its services, then the writer
// to apply that, and answers Stopped with what failed.
func (r *root) shutdown(ctx actor.Context) {
	r.stopping = true
	sender := ctx.Sender()
	qs := make([]question, len(r.instances))
	for i, pid := range r.instances {
		qs[i] = question{pid, &messages.Shutdown{}, "stop instance " + pid.Id}
	}
	gather(ctx, qs, func(_ []any, errs []error) {
		gather(ctx, []question{{r.writer, &messages.Flush{}, "last write of the IPVS table"}}, func(answers []any, ferrs []error) {
			errs = append(errs, ferrs...)
			if f, ok := answers[0].(*messages.Flushed); ok && f.Err != nil {
				errs = append(errs, fmt.Errorf("last write of the IPVS table: %w", f.Err))
			}
			ctx.Send(sender, &messages.Stopped{Err: errors.Join(errs...)})
		})
	})
}

// answerReloaded answers the current message, once its questions are
// answered, with the reload errors of every instance asked.
func (r *root) answerReloaded(ctx actor.Context) func([]any, []error) {
	sender := ctx.Sender()
	return func(answers []any, errs []error) {
		for i, a := range answers {
			if rl, ok := a.(*messages.Reloaded); ok && rl.Err != nil {
				errs[i] = rl.Err
			}
		}
		ctx.Send(sender, &messages.Reloaded{Err: errors.Join(errs...)})
	}
}
