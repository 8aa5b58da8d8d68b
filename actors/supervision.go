package actors

// The supervision policy of the tree, in one place. Each parent restarts a
// child that panics, alone (one for one), with the state it kept (see each
// actor's kept struct), a bounded number of times within restartWindow;
// past that the child stops for good and its parent carries on without
// it: the root without an instance, an instance without a virtual service
// (logged), a virtual without a prober. The writer and the watchers are
// restarted by their parents as often as they fail.

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

const (
	restartWindow = time.Minute
	// instanceRestarts bounds the root's restarts of an instance.
	instanceRestarts = 3
	// virtualRestarts bounds an instance's restarts of a virtual actor.
	virtualRestarts = 5
	// proberRestarts bounds a virtual actor's restarts of a prober.
	proberRestarts = 10
)

// props are the props of an actor made by p that supervises its children
// with at most childRestarts restarts each in restartWindow (0: the
// default strategy, for actors whose children are not bounded).
func props(opts Options, p actor.Producer, childRestarts int) *actor.Props {
	var options []actor.PropsOption
	if len(opts.middleware) > 0 {
		options = append(options, actor.WithReceiverMiddleware(opts.middleware...))
	}
	if childRestarts > 0 {
		options = append(options, actor.WithSupervisor(actor.NewOneForOneStrategy(childRestarts, restartWindow, actor.DefaultDecider)))
	}
	return actor.PropsFromProducer(p, options...)
}
