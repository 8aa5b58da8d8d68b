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
	"slices"
	"strconv"
	"strings"
	"time"
)

// Version is the version this binary reports; the build may set it.
var Version = "4.12.0-go"

const usageText = `Usage: ldirectord [-d|--debug] [--] [configfile] start|stop|restart|try-restart|reload|force-reload|status
       ldirectord [--] [configfile] status --json
       ldirectord [--] [configfile] drain REAL [--deadline TIME]
       ldirectord [--] [configfile] undrain REAL
       ldirectord [-d|--debug] [--] [configfile] probe
       ldirectord --check|-t [configfile]
       ldirectord -h|--help
       ldirectord -v|--version

configfile is a path, or a name looked up in /etc/ha.d/ then /etc/ha.d/conf/;
the default is ldirectord.cf. REAL is address:port or an address (every
port of it); TIME is seconds or a duration (300, 5m).
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
	json    bool          // status --json
	real    string        // drain and undrain: the real server
	within  time.Duration // drain --deadline; 0: none
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
		case a == "--json":
			inv.json = true
		case a == "--deadline":
			if i+1 >= len(args) {
				return inv, fmt.Errorf("%w: --deadline takes a time", errUsage)
			}
			i++
			d, err := parseDeadline(args[i])
			if err != nil {
				return inv, fmt.Errorf("%w: --deadline %s: %v", errUsage, args[i], err)
			}
			inv.within = d
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
	// The command is the first known command word (a configuration may
	// stand before it); drain and undrain take the real after it.
	at := slices.IndexFunc(rest, func(w string) bool { return commandArgs[w] > 0 })
	if at < 0 {
		at = len(rest) - 1
	}
	if at < 0 || at > 1 {
		return inv, fmt.Errorf("%w: expected [configfile] and a command", errUsage)
	}
	if at == 1 {
		inv.cfgArg = rest[0]
	}
	inv.command = rest[at]
	want, ok := commandArgs[inv.command]
	if !ok {
		return inv, fmt.Errorf("%w: unknown command %q", errUsage, inv.command)
	}
	if len(rest)-at != want {
		if want == 2 {
			return inv, fmt.Errorf("%w: %s takes a real server (address:port or address)", errUsage, inv.command)
		}
		return inv, fmt.Errorf("%w: expected [configfile] and a command", errUsage)
	}
	if want == 2 {
		inv.real = rest[at+1]
	}
	if inv.json && inv.command != "status" {
		return inv, fmt.Errorf("%w: --json goes with status", errUsage)
	}
	if inv.within != 0 && inv.command != "drain" {
		return inv, fmt.Errorf("%w: --deadline goes with drain", errUsage)
	}
	return inv, nil
}

// commandArgs are the commands and how many words each takes, itself
// included.
var commandArgs = map[string]int{
	"start": 1, "stop": 1, "restart": 1, "try-restart": 1, "reload": 1, "force-reload": 1,
	"status": 1, "probe": 1, "drain": 2, "undrain": 2,
}

// parseDeadline reads --deadline: whole seconds or a duration.
func parseDeadline(s string) (time.Duration, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, errors.New("want seconds or a duration such as 300 or 5m")
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
