package actors

// An instance drains real servers as the files in its drain directory say
// (plan.DrainDir: the maintenancedir, or beside the pid files): it reads
// the directory every drainEvery, and while a drain waits for connections
// to end it reads the table's connection counts from the writer as often.

import (
	"os"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/messages"
	"github.com/ldirectord-go/ldirectord/plan"
)

// drainEvery is how often the drain directory and, while a drain waits,
// the connection counts are read.
const drainEvery = time.Second

type drainTick struct{ token *int }

// scanDrains reads the drain directory, starts and ends drains as its
// files say, and has the connections read while a drain waits on them.
func (in *instance) scanDrains(ctx actor.Context) {
	if in.drainToken == nil {
		in.drainToken = new(int)
	}
	dir := plan.DrainDir(in.cfg, in.opts.StateDir)
	if dir == "" || in.stopped {
		return
	}
	defer in.nextDrainScan(ctx)
	present := map[string]os.FileInfo{}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
				present[e.Name()] = fi
			}
		}
	}
	if len(present) == 0 && !in.draining() {
		return // nothing drained, nothing to undrain: no name to make
	}
	changed, waiting := false, false
	now := time.Now()
	for _, v := range in.cfg.Virtuals {
		for _, r := range v.Reals {
			d, had := in.drains[v.ID][r.ID]
			name, fi := drainFile(present, r)
			switch {
			case fi == nil && had:
				delete(in.drains[v.ID], r.ID)
				in.log.Info("real server undrained", zap.String("virtual", string(v.ID)), zap.String("real", string(r.ID)))
				changed = true
			case fi != nil && !had:
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					continue
				}
				deadline, err := plan.ParseDrainFile(string(b), fi.ModTime())
				if err != nil {
					in.log.Error("drain file refused", zap.String("file", filepath.Join(dir, name)), zap.Error(err))
					continue
				}
				in.setDrain(v.ID, r.ID, plan.Drain{Since: now, Deadline: deadline})
				in.log.Info("draining real server: weight 0 until its connections end",
					zap.String("virtual", string(v.ID)), zap.String("real", string(r.ID)), zap.Time("deadline", deadline))
				changed, waiting = true, true
			case had && !d.Out:
				waiting = true
			}
		}
	}
	if changed {
		in.push(ctx)
		in.reportSoon(ctx)
	}
	if waiting {
		ctx.ReenterAfter(ctx.RequestFuture(in.writer, &messages.ReadTable{}, askTimeout), func(res any, err error) {
			if t, ok := res.(*messages.TableRead); ok && err == nil && t.Err == nil {
				in.stepDrains(ctx, t)
			}
		})
	}
}

// drainFile is the first of r's drain file names that is present.
func drainFile(present map[string]os.FileInfo, r *conf.Real) (string, os.FileInfo) {
	for _, n := range plan.DrainFileNames(r.Addr, r.Port) {
		if fi := present[n]; fi != nil {
			return n, fi
		}
	}
	return "", nil
}

func (in *instance) setDrain(v conf.VirtualID, r conf.RealID, d plan.Drain) {
	m := in.drains[v]
	if m == nil {
		m = map[conf.RealID]plan.Drain{}
		in.drains[v] = m
	}
	m[r] = d
}

// stepDrains moves the drains on with the table as read: a real is out
// of connections when the table counts none for it, or counts no
// connections at all (the file table).
func (in *instance) stepDrains(ctx actor.Context, t *messages.TableRead) {
	present := map[kernel.ServiceKey]map[kernel.DestKey]bool{}
	for _, kv := range t.Virtuals {
		m := make(map[kernel.DestKey]bool, len(kv.Destinations))
		for _, d := range kv.Destinations {
			m[d.Normalize(kv.Service).Key()] = true
		}
		present[kv.Service.Key()] = m
	}
	now, changed := time.Now(), false
	for _, v := range in.cfg.Virtuals {
		svc := plan.Service(v)
		for _, r := range v.Reals {
			d, ok := in.drains[v.ID][r.ID]
			if !ok || d.Out {
				continue
			}
			sk, dk := svc.Key(), plan.Destination(v, r, 0).Normalize(svc).Key()
			if d = d.Step(t.Conns[sk][dk].Active, present[sk][dk], now); d.Out {
				in.setDrain(v.ID, r.ID, d)
				in.log.Info("real server drained", zap.String("virtual", string(v.ID)), zap.String("real", string(r.ID)),
					zap.String("how", d.Why), zap.Duration("took", now.Sub(d.Since)))
				changed = true
			}
		}
	}
	if changed {
		in.push(ctx)
		in.reportSoon(ctx)
	}
}

func (in *instance) nextDrainScan(ctx actor.Context) {
	in.drainPending = true
	tok, self, root := in.drainToken, ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(drainEvery, func() { root.Send(self, &drainTick{token: tok}) })
}

// draining reports whether any real is drained or being drained.
func (in *instance) draining() bool {
	for _, m := range in.drains {
		if len(m) > 0 {
			return true
		}
	}
	return false
}
