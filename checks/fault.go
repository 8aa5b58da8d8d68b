package checks

import (
	"context"
	"errors"
	"sync"
	"syscall"
)

// A check that cannot open a socket, a pipe or a process because the
// director itself is short of them says nothing about the real server: a
// healthy real would fail it the same way. Such errors are noted where
// they happen, in the context of the check, and Run marks a down verdict
// that met one as the director's fault (Result.DirectorFault). They are
// told by the error, never by the reason's text, which may quote what a
// server sent.

// shortages are the errors of the director's own resources running out:
// open files (the process's and the system's), socket buffers and kernel
// memory.
var shortages = []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM}

// directorShort reports whether err says the director ran out of a
// resource of its own.
func directorShort(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range shortages {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// faultNote holds the first shortage a check met.
type faultNote struct {
	mu  sync.Mutex
	err error
}

type faultKey struct{}

// noting is ctx carrying a note for the shortages the check meets.
func noting(ctx context.Context) (context.Context, *faultNote) {
	n := &faultNote{}
	return context.WithValue(ctx, faultKey{}, n), n
}

// noteShortage notes err in the check's note when it is a shortage of
// the director's, and returns it.
func noteShortage(ctx context.Context, err error) error {
	if directorShort(err) {
		noteFault(ctx, err)
	}
	return err
}

// noteFault notes err, the director's fault, in the check's note.
func noteFault(ctx context.Context, err error) {
	if n, ok := ctx.Value(faultKey{}).(*faultNote); ok {
		n.mu.Lock()
		if n.err == nil {
			n.err = err
		}
		n.mu.Unlock()
	}
}

func (n *faultNote) get() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// directorFaultPrefix starts the reason of a verdict that is the
// director's fault.
const directorFaultPrefix = "no verdict, the director is short of resources: "

// judged is r, marked as the director's fault when it is down and the
// check met a shortage of the director's on the way.
func judged(r Result, n *faultNote) Result {
	if r.Up || n.get() == nil {
		return r
	}
	r.DirectorFault = true
	r.Reason = directorFaultPrefix + r.Reason
	return r
}
