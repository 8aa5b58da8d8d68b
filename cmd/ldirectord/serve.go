package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/actors"
	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/internal/sdnotify"
	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/metrics"
)

// loadAll reads the configuration at path and those its execute directives
// name, the named one first.
func loadAll(path string) ([]*conf.Config, error) { return loadAllWith(path, conf.Load) }

// loadAllWith is loadAll reading each file with load: the daemon's
// metrics.Load, which records each file's hash as it reads it.
func loadAllWith(path string, load func(string) (*conf.Config, error)) ([]*conf.Config, error) {
	cfg, err := load(path)
	if err != nil {
		return nil, err
	}
	cfgs := []*conf.Config{cfg}
	seen := map[string]bool{cfg.File: true}
	for _, e := range cfg.Global.Execute {
		p, _, err := conf.Locate(e, confDirs())
		if err != nil {
			return nil, fmt.Errorf("%s: execute %s: %w", path, e, err)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		c, err := load(p)
		if err != nil {
			return nil, fmt.Errorf("%s: execute %s: %w", path, e, err)
		}
		cfgs = append(cfgs, c)
	}
	return cfgs, nil
}

// openTable opens the kernel's IPVS table, or the file table that
// LDIRECTORD_TABLE=file:/path names, which stands in for it where there is
// no IPVS.
func openTable() (kernel.Table, error) {
	spec := os.Getenv(tableEnv)
	if spec == "" {
		t, err := kernel.NewNetlink()
		if err != nil {
			return nil, fmt.Errorf("open the IPVS table (is the ip_vs module loaded?): %w", err)
		}
		return t, nil
	}
	path, ok := strings.CutPrefix(spec, "file:")
	if !ok {
		return nil, fmt.Errorf("%s=%q: want file:/path", tableEnv, spec)
	}
	return tablefile.Open(path)
}

// serve runs the daemon until SIGTERM or SIGINT. ready, when not nil, is
// told once the daemon runs or why it could not start.
func serve(inv invocation, path, pidFile string, ready func(error)) int {
	fail := func(err error) int {
		var running *runningError
		switch {
		case ready != nil:
			ready(err)
		case errors.As(err, &running):
			// Lost a race with another start: what start says when the
			// daemon was already there.
			fmt.Fprintf(os.Stdout, "ldirectord for %s is already running with pid: %d\n", path, running.pid)
			return exitOK
		default:
			fmt.Fprintf(os.Stderr, "ldirectord: %v\n", err)
		}
		return exitFailure
	}
	// The pid file first: a start that loses to another touches nothing.
	own, err := claimPidFile(pidFile)
	if err != nil {
		return fail(err)
	}
	pids := &pidFiles{main: own}
	defer pids.remove()
	met := metrics.New(Version)
	cfgs, err := loadAllWith(path, met.Load)
	if err != nil {
		return fail(err)
	}
	if _, err := pids.claim(cfgs); err != nil {
		return fail(err)
	}
	log, closeLog, err := newLogger(inv.debug, cfgs[0])
	if err != nil {
		return fail(err)
	}
	defer closeLog()
	servePprof(log)
	tuneGC()
	tuneProcessors(cfgs)
	table, err := openTable()
	if err != nil {
		return fail(err)
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	// Connect and http checks run in the check loop (checks.Loop); a
	// director that cannot make one runs them as the other checks.
	loop, err := checks.NewLoop()
	if err != nil {
		log.Warn("checks run without the check loop", zap.Error(err))
		loop = nil
	} else {
		// Deferred, so after every d.Stop below.
		defer loop.Close()
	}
	host, _ := os.Hostname()
	d, err := actors.Start(actors.Options{
		Log: log, Table: table, Check: checks.Run, Loop: loop, Load: met.Load, Observer: met,
		Hostname: host, LookupAddr: net.DefaultResolver.LookupAddr,
		StateDir: filepath.Dir(pidFile),
	}, cfgs...)
	if err != nil {
		return fail(err)
	}
	met.Inspect(d.Inspect)
	// Served from the start, before the table is ready: a start that hangs
	// is what an operator most wants to see.
	metServer := metrics.NewServer(met, log)
	defer metServer.Close()
	serveMetrics(log, metServer, cfgs[0])
	log.Info("started", zap.Int("pid", os.Getpid()), zap.String("config", path), zap.String("version", Version))
	// Ready (and start returning) means the virtual services are in the
	// table, which is what heartbeat and systemd start the next unit on.
	if err := d.Ready(); err != nil {
		log.Error("start failed", zap.Error(err))
		if serr := d.Stop(); serr != nil {
			log.Error("stop", zap.Error(serr))
		}
		return fail(err)
	}
	log.Info("virtual services in the table")
	stopStatus, statusDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(statusDone)
		keepStatusFile(log, statusFilePath(pidFile), d.Status, d.StatusChanged(), stopStatus)
	}()
	ctl := &controls{log: log, inspect: d.Inspect, open: map[string]func(){}}
	ctl.sync(pids.paths())
	if ready != nil {
		ready(nil)
	}
	notify(log, sdnotify.ReadyMainPID())

	for sig := range sigs {
		if sig == syscall.SIGHUP {
			log.Info("reloading on SIGHUP")
			notify(log, sdnotify.ReloadingNow())
			cfgs, err := reload(d, path, met, pids)
			if err != nil {
				log.Error("reload refused; the running configuration stays", zap.Error(err))
			} else {
				serveMetrics(log, metServer, cfgs[0])
				ctl.sync(pids.paths())
				tuneProcessors(cfgs)
			}
			notify(log, sdnotify.Ready)
			continue
		}
		log.Info("stopping on signal", zap.String("signal", sig.String()))
		notify(log, sdnotify.Stopping)
		break
	}
	close(stopStatus)
	<-statusDone
	ctl.sync(nil)
	leaveSyncIfRestarting(log, d, pidFile)
	code := exitOK
	if err := d.Stop(); err != nil {
		log.Error("stop", zap.Error(err))
		code = exitFailure
	}
	log.Info("stopped")
	return code
}

// reload reads the configuration and those its execute directives name
// again; if all of them parse, and no other daemon serves a configuration
// newly executed, the daemon switches to them and holds the pid files of
// those it now executes, and only those.
func reload(d *actors.Daemon, path string, met *metrics.Metrics, pids *pidFiles) (cfgs []*conf.Config, err error) {
	defer func() { met.Reloaded(err) }()
	if cfgs, err = loadAllWith(path, met.Load); err != nil {
		return nil, err
	}
	undo, err := pids.claim(cfgs)
	if err != nil {
		return nil, err
	}
	if err = d.ReloadAll(cfgs...); err != nil {
		undo()
		return nil, err
	}
	pids.keep(cfgs)
	return cfgs, nil
}

// serveMetrics serves the metrics where the configuration named on the
// command line says (those of its execute directives are not asked). An
// address that cannot be listened on costs the metrics, not the daemon.
func serveMetrics(log *zap.Logger, s *metrics.Server, cfg *conf.Config) {
	if err := s.Move(cfg.Global.Metrics); err != nil {
		log.Error("metrics not served", zap.String("address", cfg.Global.Metrics.String()), zap.Error(err))
	}
}

func notify(log *zap.Logger, state string) {
	if err := sdnotify.Notify(state); err != nil {
		log.Warn("systemd notification", zap.Error(err))
	}
}
