package actors

// Inspection: what the daemon knows of its real servers, gathered on
// demand (status --json, the metrics) down the tree without any actor
// waiting in Receive: the root asks the writer for the table and every
// instance; an instance asks its virtual actors and adds what it wants of
// the table.

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// inspect answers the current Inspect with what the virtual actors say of
// their reals and what the instance wants of the table.
func (in *instance) inspect(ctx actor.Context) {
	sender := ctx.Sender()
	var qs []question
	var order []*conf.Virtual
	for _, v := range in.cfg.Virtuals {
		if pid := in.pids[v.ID]; pid != nil {
			qs = append(qs, question{pid, &messages.Inspect{}, "inspect " + string(v.ID)})
			order = append(order, v)
		}
	}
	gather(ctx, qs, func(answers []any, _ []error) {
		cfg := &conf.Config{File: in.cfg.File, Name: in.cfg.Name, Global: in.cfg.Global}
		var vis []plan.VirtualInspection
		desired, _, _ := in.desired(time.Now())
		var all []kernel.Virtual
		for i, a := range answers {
			ins, ok := a.(*messages.Inspected)
			// A reload while the virtuals answered may have removed
			// or changed the one asked: it is left out of this answer
			// (the next has it as it is now), or there would be no
			// table of it to report and the instance would fail.
			at := slices.Index(in.cfg.Virtuals, order[i])
			if !ok || at < 0 {
				continue
			}
			cfg.Virtuals = append(cfg.Virtuals, order[i])
			all = append(all, desired[at])
			vi := ins.Virtual
			if f := in.failOpen[vi.ID]; f.Held() {
				vi.FailOpen = &plan.HeldTable{Since: f.Since, Failed: len(f.Downs)}
			}
			vis = append(vis, vi)
		}
		plan.InspectWanted(cfg, all, vis, in.drains)
		ctx.Send(sender, &messages.Inspected{Instances: []plan.InstanceInspection{{File: in.cfg.File, Name: in.cfg.Name, Virtuals: vis}}})
	})
}

// inspect answers Inspect with every instance's inspection and what the
// table holds for each real.
func (r *root) inspect(ctx actor.Context) {
	sender := ctx.Sender()
	qs := []question{{r.writer, &messages.ReadTable{}, "read the IPVS table"}}
	for _, pid := range r.instances {
		qs = append(qs, question{pid, &messages.Inspect{}, "inspect instance " + pid.Id})
	}
	gather(ctx, qs, func(answers []any, errs []error) {
		ins := &plan.Inspection{}
		for _, a := range answers[1:] {
			if i, ok := a.(*messages.Inspected); ok {
				ins.Instances = append(ins.Instances, i.Instances...)
			}
		}
		t, ok := answers[0].(*messages.TableRead)
		if ok && t.Err != nil {
			errs[0] = fmt.Errorf("read the IPVS table: %w", t.Err)
		}
		if ok && t.Err == nil {
			plan.InspectTable(ins, t.Virtuals, t.Conns)
		}
		ctx.Send(sender, &inspectAnswer{ins: ins, err: errors.Join(errs...)})
	})
}

// inspectAnswer answers Inspect for Daemon.Inspect.
type inspectAnswer struct {
	ins *plan.Inspection
	err error
}

func (r *root) spawn(ctx actor.Context, c *conf.Config) {
	r.instances = append(r.instances, ctx.Spawn(props(r.opts, newInstance(r.opts, r.writer, c), virtualRestarts)))
	r.files = append(r.files, c.File)
}
