package ipvsadm

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// Op is what an ipvsadm command line asks for.
type Op int

// The operations of ipvsadm that ldirectord uses.
const (
	OpList        Op = iota // -L, -l, or no arguments
	OpAddService            // -A
	OpEditService           // -E
	OpDelService            // -D
	OpAddDest               // -a
	OpEditDest              // -e
	OpDelDest               // -d
	OpClear                 // -C
)

var opNames = map[Op]string{
	OpList: "list", OpAddService: "add-service", OpEditService: "edit-service",
	OpDelService: "delete-service", OpAddDest: "add-server", OpEditDest: "edit-server",
	OpDelDest: "delete-server", OpClear: "flush",
}

// String is ipvsadm's name for the command.
func (o Op) String() string { return opNames[o] }

// Command is one parsed ipvsadm command line. Service and Dest hold every
// field ipvsadm would send to the kernel, defaults included: ipvsadm's -E
// and -e replace the whole entry, so an omitted -s means wlc and an omitted
// -w means weight 1.
type Command struct {
	Op         Op
	HasService bool // a service was named (-t, -u or -f)
	Service    kernel.Service
	Dest       kernel.Destination
	Numeric    bool // -n
	Thresholds bool // --thresholds
}

// Exit statuses of ipvsadm: 2 when the command line is wrong (its fail(2,
// ...)), 255 when the kernel refuses (main returns -1).
const (
	StatusUsage = 2
	StatusTable = 255
)

// Error is an ipvsadm failure: the message ipvsadm prints on stderr and the
// status it exits with.
type Error struct {
	Status  int
	Message string
	Err     error // the underlying table error, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "ipvsadm: " + e.Message + ": " + e.Err.Error()
	}
	return "ipvsadm: " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func usage(format string, a ...any) *Error {
	return &Error{Status: StatusUsage, Message: fmt.Sprintf(format, a...)}
}

// Schedulers are the IPVS schedulers of a current kernel; adding a service
// with another one fails as the kernel fails it.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

type optSpec struct {
	name   string // ipvsadm's option name, used in its messages
	hasArg bool
}

// options maps every spelling to its canonical short form.
var options = map[string]string{
	"-A": "-A", "--add-service": "-A", "-E": "-E", "--edit-service": "-E",
	"-D": "-D", "--delete-service": "-D", "-C": "-C", "--clear": "-C",
	"-L": "-L", "-l": "-L", "--list": "-L", "-a": "-a", "--add-server": "-a",
	"-e": "-e", "--edit-server": "-e", "-d": "-d", "--delete-server": "-d",
	"-R": "-R", "--restore": "-R", "-S": "-S", "--save": "-S", "-Z": "-Z", "--zero": "-Z",
	"-t": "-t", "--tcp-service": "-t", "-u": "-u", "--udp-service": "-u",
	"-f": "-f", "--fwmark-service": "-f", "-6": "-6", "--ipv6": "-6",
	"-s": "-s", "--scheduler": "-s", "-p": "-p", "--persistent": "-p",
	"-M": "-M", "--netmask": "-M", "-b": "-b", "--sched-flags": "-b",
	"-o": "-o", "--ops": "-o", "-r": "-r", "--real-server": "-r",
	"-g": "-g", "--gatewaying": "-g", "-m": "-m", "--masquerading": "-m",
	"-i": "-i", "--ipip": "-i", "-w": "-w", "--weight": "-w",
	"-x": "-x", "--u-threshold": "-x", "-y": "-y", "--l-threshold": "-y",
	"-n": "-n", "--numeric": "-n", "--thresholds": "--thresholds",
	"--exact": "--exact", "--sort": "--sort", "--nosort": "--nosort",
}

var specs = map[string]optSpec{
	"-t": {"service-address", true}, "-u": {"service-address", true}, "-f": {"service-address", true},
	"-6": {"ipv6", false}, "-s": {"scheduler", true}, "-p": {"persistent", false},
	"-M": {"netmask", true}, "-b": {"sched-flags", true}, "-o": {"ops", false},
	"-r": {"real-server", true}, "-g": {"forwarding-method", false}, "-m": {"forwarding-method", false},
	"-i": {"forwarding-method", false}, "-w": {"weight", true}, "-x": {"u-threshold", true},
	"-y": {"l-threshold", true}, "-n": {"numeric", false}, "--thresholds": {"thresholds", false},
	"--exact": {"exact", false}, "--sort": {"sort", false}, "--nosort": {"nosort", false},
}

var commands = map[string]Op{
	"-A": OpAddService, "-E": OpEditService, "-D": OpDelService, "-C": OpClear,
	"-L": OpList, "-a": OpAddDest, "-e": OpEditDest, "-d": OpDelDest,
}

// ParseArgs turns an ipvsadm command line (without the program name) into
// the Command it means, with ipvsadm's defaults and its checks of which
// options go with which command. Errors are *Error with ipvsadm's message
// and StatusUsage. The batch commands (-R, -S) and -Z are not supported:
// ldirectord never uses them.
func ParseArgs(args []string) (Command, error) {
	c := Command{Op: OpList}
	if len(args) == 0 {
		return c, nil
	}
	vals := map[string]string{} // canonical option -> argument ("" if none)
	haveCmd := false
	toks := expandBundles(args)
	for i := 0; i < len(toks); i++ {
		canon, ok := options[toks[i]]
		if !ok {
			return c, usage("invalid option `%s'", toks[i])
		}
		switch canon {
		case "-R", "-S", "-Z":
			return c, usage("the '%s' command is not supported by this ipvsadm", toks[i])
		}
		if op, isCmd := commands[canon]; isCmd {
			if haveCmd {
				return c, usage("multiple commands specified")
			}
			c.Op, haveCmd = op, true
			continue
		}
		spec := specs[canon]
		arg := ""
		if spec.hasArg {
			if i+1 >= len(toks) {
				return c, usage("option `%s' requires an argument", toks[i])
			}
			i++
			arg = toks[i]
		} else if canon == "-p" && i+1 < len(toks) && !strings.HasPrefix(toks[i+1], "-") {
			// -p takes an optional timeout.
			i++
			arg = toks[i]
		}
		key := canon
		switch canon {
		case "-t", "-u", "-f":
			key = "svc"
		case "-g", "-m", "-i":
			key = "fwd"
		}
		if _, dup := vals[key]; dup && key != "-n" {
			return c, usage("multiple '%s' options specified", spec.name)
		}
		vals[key] = arg
		if key == "svc" || key == "fwd" {
			vals[key+"kind"] = canon
		}
	}
	if !haveCmd {
		return c, usage("no command specified")
	}
	if err := checkCombination(c.Op, vals); err != nil {
		return c, err
	}
	_, c.Numeric = vals["-n"]
	_, c.Thresholds = vals["--thresholds"]
	if err := c.fillService(vals); err != nil {
		return c, err
	}
	if err := c.fillDest(vals); err != nil {
		return c, err
	}
	return c, nil
}

// expandBundles splits "-Ln" into "-L" "-n", as popt does for short
// options without arguments.
func expandBundles(args []string) []string {
	var out []string
	for _, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			if _, known := options[a]; !known {
				all := true
				for _, r := range a[1:] {
					o, ok := options["-"+string(r)]
					if !ok || specs[o].hasArg {
						all = false
						break
					}
				}
				if all {
					for _, r := range a[1:] {
						out = append(out, "-"+string(r))
					}
					continue
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// checkCombination applies ipvsadm's table of legal command and option
// combinations, for the options ldirectord uses.
func checkCombination(op Op, vals map[string]string) error {
	needSvc := op == OpAddService || op == OpEditService || op == OpDelService ||
		op == OpAddDest || op == OpEditDest || op == OpDelDest
	needReal := op == OpAddDest || op == OpEditDest || op == OpDelDest
	if _, ok := vals["svc"]; needSvc && !ok {
		return usage("You need to supply the 'service-address' option for the '%s' command", op)
	}
	if _, ok := vals["-r"]; needReal && !ok {
		return usage("You need to supply the 'real-server' option for the '%s' command", op)
	}
	illegal := map[Op][]string{
		OpAddService:  {"-r", "fwd", "-w", "-x", "-y", "-n", "--thresholds"},
		OpEditService: {"-r", "fwd", "-w", "-x", "-y", "-n", "--thresholds"},
		OpDelService:  {"-s", "-p", "-M", "-b", "-o", "-r", "fwd", "-w", "-x", "-y", "-n", "--thresholds"},
		OpAddDest:     {"-s", "-p", "-M", "-b", "-o", "-n", "--thresholds"},
		OpEditDest:    {"-s", "-p", "-M", "-b", "-o", "-n", "--thresholds"},
		OpDelDest:     {"-s", "-p", "-M", "-b", "-o", "fwd", "-w", "-x", "-y", "-n", "--thresholds"},
		OpClear:       {"svc", "-s", "-p", "-M", "-b", "-o", "-r", "fwd", "-w", "-x", "-y", "-n", "--thresholds"},
		OpList:        {"-s", "-p", "-M", "-b", "-o", "-r", "fwd", "-w", "-x", "-y"},
	}
	for _, k := range illegal[op] {
		if _, ok := vals[k]; ok {
			name := k
			switch k {
			case "svc":
				name = "-t"
			case "fwd":
				name = "-g"
			}
			return usage("Illegal '%s' option with the '%s' command", specs[name].name, op)
		}
	}
	return nil
}

func (c *Command) fillService(vals map[string]string) error {
	kind, ok := vals["svckind"]
	if !ok {
		return nil
	}
	c.HasService = true
	s := &c.Service
	arg := vals["svc"]
	_, persistent := vals["-p"]
	switch kind {
	case "-f":
		m, err := strconv.ParseUint(arg, 10, 32)
		if err != nil || m == 0 {
			return usage("invalid fwmark value `%s' specified", arg)
		}
		s.FWMark = uint32(m)
		_, s.IPv6 = vals["-6"]
	default:
		s.Protocol = "tcp"
		if kind == "-u" {
			s.Protocol = "udp"
		}
		addr, port, hasPort, err := parseHostPort(arg)
		if err != nil {
			return usage("illegal virtual server address[:port] specified")
		}
		if !hasPort && !persistent {
			return usage("Zero port specified for non-persistent service")
		}
		s.Addr, s.Port, s.IPv6 = addr, port, addr.Is6()
	}
	s.Scheduler = "wlc"
	if v, ok := vals["-s"]; ok {
		s.Scheduler = v
	}
	s.NetmaskBits = 32
	if s.IPv6 {
		s.NetmaskBits = 128
	}
	if persistent {
		s.Persistent = 300
		if v := vals["-p"]; v != "" {
			t, err := strconv.Atoi(v)
			if err != nil || t < 1 || t > 86400*31 {
				return usage("invalid timeout value `%s' specified", v)
			}
			s.Persistent = uint32(t)
		}
	}
	if v, ok := vals["-M"]; ok {
		bits, err := parseMask(v, s.IPv6)
		if err != nil {
			if s.IPv6 {
				return usage("illegal ipv6 netmask specified")
			}
			return usage("illegal virtual server persistent mask specified")
		}
		s.NetmaskBits = bits
	}
	if v, ok := vals["-b"]; ok {
		for _, f := range strings.Split(v, ",") {
			switch f {
			case "flag-1", "flag-2", "flag-3":
			case "sh-fallback", "sh-port":
				if s.Scheduler != "sh" {
					return usage("incompatible scheduler flag `%s'", f)
				}
			case "mh-fallback", "mh-port":
				if s.Scheduler != "mh" {
					return usage("incompatible scheduler flag `%s'", f)
				}
			default:
				return usage("invalid scheduler flag `%s'", f)
			}
		}
		s.Flags = CanonicalFlags(s.Scheduler, strings.Split(v, ","))
	}
	_, s.OnePacket = vals["-o"]
	return nil
}

func (c *Command) fillDest(vals map[string]string) error {
	arg, ok := vals["-r"]
	if !ok {
		return nil
	}
	d := &c.Dest
	addr, port, hasPort, err := parseHostPort(arg)
	if err != nil {
		return usage("illegal real server address[:port] specified")
	}
	d.Addr, d.Port = addr, port
	if !hasPort {
		d.Port = c.Service.Port
	}
	d.Method = kernel.Gate
	switch vals["fwdkind"] {
	case "-m":
		d.Method = kernel.Masq
	case "-i":
		d.Method = kernel.IPIP
	}
	// ipvsadm: when adding or editing a real server with direct routing
	// or tunnelling, its port is the service's, whatever was written.
	// Deleting keeps the written port, so ldirectord's "-d ... -r
	// rip:otherport" without a method still finds a masq real server.
	if (c.Op == OpAddDest || c.Op == OpEditDest) && c.Service.FWMark == 0 && d.Method != kernel.Masq {
		d.Port = c.Service.Port
	}
	d.Weight = 1
	if v, ok := vals["-w"]; ok {
		w, err := strconv.Atoi(v)
		if err != nil || w < 0 || w > 65535 {
			return usage("illegal weight specified")
		}
		d.Weight = w
	}
	for _, th := range []struct {
		opt, name string
		to        *uint32
	}{{"-x", "u_threshold", &d.Upper}, {"-y", "l_threshold", &d.Lower}} {
		if v, ok := vals[th.opt]; ok {
			n, err := strconv.ParseUint(v, 10, 31)
			if err != nil {
				return usage("illegal %s specified", th.name)
			}
			*th.to = uint32(n)
		}
	}
	return nil
}

// parseHostPort reads host[:port] or [v6][:port] with numeric addresses and
// ports, as ldirectord writes them.
func parseHostPort(s string) (netip.Addr, uint16, bool, error) {
	host, port, hasPort := s, "", false
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return netip.Addr{}, 0, false, errors.New("unclosed [")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return netip.Addr{}, 0, false, errors.New("junk after ]")
			}
			port, hasPort = port[1:], true
		}
	} else if i := strings.LastIndex(s, ":"); i >= 0 && strings.Count(s, ":") == 1 {
		host, port, hasPort = s[:i], s[i+1:], true
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, 0, false, fmt.Errorf("address %q", host)
	}
	a = a.Unmap()
	var p uint64
	if hasPort {
		p, err = strconv.ParseUint(port, 10, 16)
		if err != nil {
			return netip.Addr{}, 0, false, fmt.Errorf("port %q", port)
		}
	}
	return a, uint16(p), hasPort && p != 0, nil
}

// Apply performs the command on the table. Listing is left to the caller
// (List and Format). Errors are *Error with the message ipvsadm prints for
// the kernel's answer and StatusTable.
func (c Command) Apply(t kernel.Table) error {
	var err error
	switch c.Op {
	case OpList:
		return nil
	case OpClear:
		return c.clear(t)
	case OpAddService, OpEditService:
		if !knownScheduler(c.Service.Scheduler) {
			return &Error{Status: StatusTable, Message: "Scheduler or persistence engine not found"}
		}
		if c.Op == OpAddService {
			err = t.AddService(c.Service)
		} else {
			err = t.UpdateService(c.Service)
		}
	case OpDelService:
		err = t.DelService(c.Service)
	case OpAddDest:
		err = t.AddDestination(c.Service, c.Dest)
	case OpEditDest:
		err = t.UpdateDestination(c.Service, c.Dest)
	case OpDelDest:
		err = t.DelDestination(c.Service, c.Dest)
	default:
		return usage("unknown command %d", c.Op)
	}
	if err == nil {
		return nil
	}
	return &Error{Status: StatusTable, Message: c.message(t, err), Err: err}
}

func (c Command) clear(t kernel.Table) error {
	vs, err := t.List()
	if err != nil {
		return &Error{Status: StatusTable, Message: "Memory allocation problem", Err: err}
	}
	for _, v := range vs {
		if err := t.DelService(v.Service); err != nil && !errors.Is(err, kernel.ErrNotExist) {
			return &Error{Status: StatusTable, Message: "Memory allocation problem", Err: err}
		}
	}
	return nil
}

// message is libipvs's ipvs_strerror text for the failed operation.
func (c Command) message(t kernel.Table, err error) string {
	switch {
	case errors.Is(err, kernel.ErrExist):
		if c.Op == OpAddService {
			return "Service already exists"
		}
		return "Destination already exists"
	case errors.Is(err, kernel.ErrNotExist):
		switch c.Op {
		case OpEditService, OpDelService:
			return "No such service"
		case OpAddDest:
			return "Service not defined"
		}
		// The kernel tells a missing service (ESRCH) from a missing
		// destination (ENOENT); the model's one error does not.
		if !serviceExists(t, c.Service) {
			return "Service not defined"
		}
		return "No such destination"
	}
	// The table's other errors are unexported; their texts are those of
	// EINVAL and ERANGE, which ipvsadm reports as below.
	switch msg := err.Error(); {
	case strings.Contains(msg, "invalid argument"):
		return "Invalid operation.  Possibly wrong module version, address not unicast, ..."
	case strings.Contains(msg, "out of range"):
		return "Numerical result out of range"
	}
	return "Memory allocation problem"
}

func serviceExists(t kernel.Table, s kernel.Service) bool {
	vs, err := t.List()
	if err != nil {
		return false
	}
	for _, v := range vs {
		if v.Service.Key() == s.Key() {
			return true
		}
	}
	return false
}

func knownScheduler(s string) bool {
	for _, k := range Schedulers {
		if s == k {
			return true
		}
	}
	return false
}
