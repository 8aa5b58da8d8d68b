// Package demo owns `make demo`: it boots the real-kernel VM, starts three
// HTTP real servers and a fallback server in network namespaces there, runs
// our ldirectord in the foreground against the kernel's IPVS, and shows the
// table as the daemon keeps it in step while servers die and return. It owns
// the guest script, the demo's configuration, the rendering for a person and
// the check that every expected table appeared in order.
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/vm"
)

//go:embed guest.sh
var guestScript []byte

//go:embed demo.cf
var demoConfig []byte

// Options say which daemon to show and where the show goes.
type Options struct {
	// Daemon is the host path of a statically linked ldirectord.
	Daemon string
	// Out receives the demo as it happens, rendered for a person; nil
	// discards it.
	Out io.Writer
	// Color marks the narration with terminal colours.
	Color bool
	// SkipQuiescent leaves out the optional quiescent = yes step.
	SkipQuiescent bool
	// StepLimit bounds how long the guest waits for each expected table;
	// 30 s if zero.
	StepLimit time.Duration
	// Timeout bounds the whole VM run; 5 minutes if zero.
	Timeout time.Duration
}

// Report is what the demo showed.
type Report struct {
	Events   []Event
	Duration time.Duration // the VM run, qemu start to exit
}

// Run runs the demo and checks it: the error is non-nil when the VM could
// not run it, when the guest gave up waiting for a table (the daemon's log
// tail is then in the error), or when the tables shown do not follow the
// expected steps. On success the summary of the steps ends the output.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Daemon == "" {
		return nil, errors.New("demo: Options.Daemon is empty: give the path of a static ldirectord binary")
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.StepLimit == 0 {
		opts.StepLimit = 30 * time.Second
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	dir, err := os.MkdirTemp("", "lddemo-")
	if err != nil {
		return nil, fmt.Errorf("demo: work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	script, cfg := filepath.Join(dir, "guest.sh"), filepath.Join(dir, "demo.cf")
	if err := os.WriteFile(script, guestScript, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(cfg, demoConfig, 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	// The guest's /bin/<base name> must be ldirectord whatever the host
	// calls the binary.
	daemon := filepath.Join(dir, "ldirectord")
	if err := copyFile(daemon, opts.Daemon); err != nil {
		return nil, err
	}
	quiescent := "1"
	if opts.SkipQuiescent {
		quiescent = "0"
	}
	r := newRenderer(opts.Out, opts.Color)
	fmt.Fprintln(opts.Out, r.dim("Booting the VM (qemu, software emulation: this takes a few seconds)..."))
	res, err := vm.Run(ctx, vm.Options{
		Binaries: []string{daemon},
		Files:    map[string]string{"/demo/guest.sh": script, "/demo/demo.cf": cfg},
		Command:  "/bin/sh",
		Args:     []string{"/demo/guest.sh"},
		Env: []string{
			fmt.Sprintf("DEMO_STEP_LIMIT=%d", int(opts.StepLimit.Seconds())),
			"DEMO_QUIESCENT=" + quiescent,
		},
		Timeout: opts.Timeout,
		Console: r,
	})
	r.flush()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	rep := &Report{Events: parseEvents(res.Output), Duration: res.Duration}
	if res.ExitCode != 0 {
		return rep, fmt.Errorf("demo: the guest script failed (exit status %d):\n%s", res.ExitCode, failure(rep.Events))
	}
	steps := Expected(!opts.SkipQuiescent)
	if err := Check(rep.Events, steps); err != nil {
		return rep, err
	}
	fmt.Fprint(opts.Out, r.summary(rep, steps))
	return rep, nil
}

// failure is what the guest said when it gave up, and the daemon's log.
func failure(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		switch e.Kind {
		case "fail", "log":
			b.WriteString(e.Kind + ": " + e.Text + "\n")
		}
	}
	if b.Len() == 0 {
		return "(the guest printed no reason)"
	}
	return b.String()
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("demo: reading the daemon: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// BuildDaemon builds cmd/ldirectord statically into dir and returns the
// binary's path. root is the module's root directory.
func BuildDaemon(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "ldirectord")
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-o", out, "./cmd/ldirectord")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("demo: go build ./cmd/ldirectord: %w\n%s", err, b)
	}
	return out, nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
