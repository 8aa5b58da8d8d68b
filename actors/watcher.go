package actors

// A watcher owns the fsnotify watch of one configuration file. It watches
// the file's directory, so that editors that replace the file by a rename
// are seen, and tells its instance when the file changed and its mtime is
// newer than the one it last saw. Events that come in a burst are taken as
// one.
//
// Takes: nothing but lifecycle messages and its own events. Sends:
// *messages.FileChanged to its parent.

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/messages"
)

type fileEvent struct{}

type watcher struct {
	log     *zap.Logger
	path    string
	mtime   time.Time
	w       *fsnotify.Watcher
	wg      sync.WaitGroup
	settle  time.Duration
	pending *time.Timer
	mu      sync.Mutex
}

func newWatcher(log *zap.Logger, path string) actor.Producer {
	return func() actor.Actor {
		return &watcher{log: log.With(zap.String("file", path)), path: filepath.Clean(path), settle: 100 * time.Millisecond}
	}
}

func (w *watcher) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		if fi, err := os.Stat(w.path); err == nil {
			w.mtime = fi.ModTime()
		}
		if err := w.open(ctx); err != nil {
			w.log.Error("configuration file not watched", zap.Error(err))
		}
	case *fileEvent:
		fi, err := os.Stat(w.path)
		if err != nil || !fi.ModTime().After(w.mtime) {
			return
		}
		w.mtime = fi.ModTime()
		ctx.Send(ctx.Parent(), &messages.FileChanged{Path: w.path})
	case *actor.Stopping, *actor.Restarting:
		w.close()
	}
}

func (w *watcher) open(ctx actor.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("start watching: %w", err)
	}
	if err := fw.Add(filepath.Dir(w.path)); err != nil {
		fw.Close()
		return fmt.Errorf("watch directory %s: %w", filepath.Dir(w.path), err)
	}
	w.w = fw
	self, root := ctx.Self(), ctx.ActorSystem().Root
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case ev, ok := <-fw.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) != w.path {
					continue
				}
				w.mu.Lock()
				if w.pending != nil {
					w.pending.Stop()
				}
				w.pending = time.AfterFunc(w.settle, func() { root.Send(self, &fileEvent{}) })
				w.mu.Unlock()
			case err, ok := <-fw.Errors:
				if !ok {
					return
				}
				w.log.Warn("watching configuration file", zap.Error(err))
			}
		}
	}()
	return nil
}

func (w *watcher) close() {
	if w.w != nil {
		w.w.Close()
		w.wg.Wait()
		w.w = nil
	}
	w.mu.Lock()
	if w.pending != nil {
		w.pending.Stop()
	}
	w.mu.Unlock()
}
