package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// question is one request of a parent to a child.
type question struct {
	to   *actor.PID
	msg  any
	what string // names the question in an error
}

// gather asks every question at once and calls done, in the asking
// actor's own mailbox, with the answers and the errors of those that went
// unanswered once all are in; the actor takes other messages meanwhile,
// so that a parent never waits on its children inside Receive.
func gather(ctx actor.Context, qs []question, done func(answers []any, errs []error)) {
	answers, errs := make([]any, len(qs)), make([]error, len(qs))
	left := len(qs)
	if left == 0 {
		done(answers, errs)
		return
	}
	for i, q := range qs {
		ctx.ReenterAfter(ctx.RequestFuture(q.to, q.msg, askTimeout), func(res any, err error) {
			answers[i] = res
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", q.what, err)
			}
			if left--; left == 0 {
				done(answers, errs)
			}
		})
	}
}
