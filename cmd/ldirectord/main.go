// Command ldirectord is the Linux Director Daemon: it reads an ldirectord
// configuration, checks the real servers of its virtual services and keeps
// the kernel's IPVS table in step with their health. This package owns the
// command line, the pid file, detaching from the terminal, logging set-up
// and signals; the daemon itself is actors.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Version is the version this binary reports; the build may set it.
var Version = "4.12.0-go"

const usageText = `Usage: ldirectord [-d|--debug] [--] [configfile] start|stop|restart|try-restart|reload|force-reload|status
       ldirectord [-d|--debug] [--] [configfile] probe
       ldirectord --check|-t [configfile]
       ldirectord -h|--help
       ldirectord -v|--version

configfile is a path, or a name looked up in /etc/ha.d/ then /etc/ha.d/conf/;
the default is ldirectord.cf.
`

// The LSB exit codes ldirectord uses.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitNotRunning = 3 // status only
)

type invocation struct {
	debug   bool
	check   bool
	cfgArg  string // as given; "" for the default
	command string
}

var errUsage = errors.New("usage")

func parseArgs(args []string) (invocation, error) {
	var inv invocation
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case a == "-d" || a == "--debug":
			inv.debug = true
		case a == "-t" || a == "--check":
			inv.check = true
		case a == "-h" || a == "--help":
			inv.command = "help"
			return inv, nil
		case a == "-v" || a == "--version":
			inv.command = "version"
			return inv, nil
		case strings.HasPrefix(a, "-") && a != "-":
			return inv, fmt.Errorf("%w: unknown option %s", errUsage, a)
		default:
			rest = append(rest, a)
		}
	}
	if inv.check {
		switch len(rest) {
		case 0:
		case 1:
			inv.cfgArg = rest[0]
		default:
			return inv, fmt.Errorf("%w: --check takes at most one configuration file", errUsage)
		}
		inv.command = "check"
		return inv, nil
	}
	switch len(rest) {
	case 1:
		inv.command = rest[0]
	case 2:
		inv.cfgArg, inv.command = rest[0], rest[1]
	default:
		return inv, fmt.Errorf("%w: expected [configfile] and a command", errUsage)
	}
	switch inv.command {
	case "start", "stop", "restart", "try-restart", "reload", "force-reload", "status", "probe":
		return inv, nil
	}
	return inv, fmt.Errorf("%w: unknown command %q", errUsage, inv.command)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if fd := os.Getenv(daemonEnv); fd != "" {
		return daemonChild(args, fd)
	}
	inv, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "ldirectord: %v\n%s", err, usageText)
		return exitUsage
	}
	switch inv.command {
	case "help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	case "version":
		fmt.Fprintf(stdout, "Linux Director v%s\n", Version)
		return exitOK
	}
	path, err := locate(inv.cfgArg)
	if err != nil {
		fmt.Fprintf(stderr, "ldirectord: %v\n", err)
		return exitFailure
	}
	switch inv.command {
	case "check":
		return checkConfig(path, stdout, stderr)
	case "probe":
		return probe(path, stdout, stderr)
	}
	ctl := control{inv: inv, path: path, pidFile: pidFilePath(inv.cfgArg), stdout: stdout, stderr: stderr}
	return ctl.do(inv.command)
}
