// Command lddemo is `make demo`: it runs internal/demo, which shows our
// ldirectord keeping a real kernel's IPVS table in step with real servers
// inside a VM, and exits non-zero when the demo did not show what it should.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ldirectord-go/ldirectord/internal/demo"
)

func main() {
	daemon := flag.String("daemon", "bin/ldirectord", "statically linked ldirectord to run in the VM (make build makes it)")
	noQuiescent := flag.Bool("no-quiescent", false, "leave out the quiescent = yes step")
	flag.Parse()
	if _, err := os.Stat(*daemon); err != nil {
		fmt.Fprintf(os.Stderr, "lddemo: %v (build it with make build)\n", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fi, _ := os.Stdout.Stat()
	color := fi != nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
	_, err := demo.Run(ctx, demo.Options{Daemon: *daemon, Out: os.Stdout, Color: color, SkipQuiescent: *noQuiescent})
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nlddemo: %v\n", err)
		os.Exit(1)
	}
}
