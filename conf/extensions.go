package conf

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The health extensions: rise, slowstart, failopen, flapdamping,
// checkjitter and sharedchecks; and metrics. The Perl ldirectord stops at
// them ("Unknown command"), so each one, wherever it stands, warns; every one
// is off at its zero value, so that a Perl configuration means what it
// meant.

// maxExtensionTime bounds every time of the extensions. Beyond an hour a
// ramp, a hold or a window is more likely a unit mistaken (minutes written
// as seconds) than a plan, and a flap penalty grows to eight windows.
const maxExtensionTime = time.Hour

// DefaultFailOpenHold is how long failopen holds a table when its line gives
// no hold of its own.
const DefaultFailOpenHold = 300 * time.Second

// maxFlapCount bounds flapdamping's count; with checkinterval at least a
// second and the window at most an hour, no more changes than this could
// fit in one window anyway.
const maxFlapCount = 3600

// extensionNames lists the directives of Settings that are extensions, in
// the order Format prints them.
var extensionNames = []string{"rise", "slowstart", "failopen", "flapdamping", "checkjitter"}

// extension wraps the apply of an extension directive with its warning.
func extension(apply func(p *parser, l srcLine, s *Settings)) func(p *parser, l srcLine, d *draft, vd *vdraft) {
	return func(p *parser, l srcLine, d *draft, _ *vdraft) {
		before := len(p.errs)
		apply(p, l, &d.s)
		if len(p.errs) == before {
			warnExtension(p, l)
		}
	}
}

func warnExtension(p *parser, l srcLine) {
	p.warnf(l.num, l.name, "is an extension of this ldirectord: the Perl ldirectord does not know it and would refuse this file")
}

func applyRise(p *parser, l srcLine, s *Settings) {
	v := unquote(l.value)
	n, err := strconv.Atoi(v)
	if err != nil || !isDigits(v) || n < 1 || n > 100 {
		p.bad(l, v, "is not a number of good checks: a whole number from 1 (a single good check, as without rise) to 100")
		return
	}
	// One good check is what the daemon does without rise: stored as the
	// zero value, so that rise = 1 is off like the other extensions' zeros.
	s.Rise = n
	if n == 1 {
		s.Rise = 0
	}
}

func applySlowStart(p *parser, l srcLine, s *Settings) {
	v := unquote(l.value)
	d, ok := extensionTime(v)
	if !ok {
		p.bad(l, v, "is not a slow start time: whole seconds from 0 (off) to 3600, written as 30, 30s or 2m")
		return
	}
	s.SlowStart = d
}

func applyFailOpen(p *parser, l srcLine, s *Settings) {
	v := unquote(l.value)
	if v == "off" || v == "no" {
		s.FailOpen, s.FailOpenHold = 0, 0
		return
	}
	words := strings.FieldsFunc(v, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
	if len(words) == 0 || len(words) > 2 {
		p.bad(l, v, "is not a fail-open setting: write P% or P% HOLD, as in 50% or 50% 5m, or off")
		return
	}
	// 100% can never be exceeded, so it would be failopen that never acts.
	pct, ok := percent(words[0], 1, 99)
	if !ok {
		p.bad(l, words[0], "is not a share of the real servers: a whole number from 1 to 99 followed by %, as in 50% (failopen = off turns it off)")
		return
	}
	hold := DefaultFailOpenHold
	if len(words) == 2 {
		d, ok := extensionTime(words[1])
		if !ok || d == 0 {
			p.bad(l, words[1], "is not a hold time: whole seconds from 1 to 3600, written as 300, 300s or 5m")
			return
		}
		hold = d
	}
	s.FailOpen, s.FailOpenHold = pct, hold
}

func applyFlapDamping(p *parser, l srcLine, s *Settings) {
	v := unquote(l.value)
	if v == "off" || v == "no" {
		s.FlapCount, s.FlapWindow = 0, 0
		return
	}
	k, w, found := strings.Cut(v, "/")
	if !found {
		p.bad(l, v, "is not a flap damping: write CHANGES/WINDOW, as in 4/60s, or off")
		return
	}
	k, w = trimSpace(k), trimSpace(w)
	n, err := strconv.Atoi(k)
	if err != nil || !isDigits(k) || n < 1 || n > maxFlapCount {
		p.bad(l, k, "is not a number of changes of state: a whole number from 1 to 3600")
		return
	}
	d, ok := extensionTime(w)
	if !ok || d == 0 {
		p.bad(l, w, "is not a flap window: whole seconds from 1 to 3600, written as 60, 60s or 1m")
		return
	}
	s.FlapCount, s.FlapWindow = n, d
}

func applyCheckJitter(p *parser, l srcLine, s *Settings) {
	v := unquote(l.value)
	pct, ok := percent(v, 0, 50)
	if !ok {
		p.bad(l, v, "is not a share of checkinterval: a whole number from 0 to 50 followed by %, as in 10%")
		return
	}
	s.CheckJitter = pct
}

func applySharedChecks(p *parser, l srcLine, _ *draft, _ *vdraft) {
	before := len(p.errs)
	p.yesNo(l, &p.g.SharedChecks)
	if len(p.errs) == before {
		warnExtension(p, l)
	}
}

// applyMetrics reads where to serve the metrics. An address, not a host
// name: the listener is bound once, and a name that resolves to another
// address later would not move it.
func applyMetrics(p *parser, l srcLine, _ *draft, _ *vdraft) {
	v := unquote(l.value)
	ap, err := netip.ParseAddrPort(v)
	if err != nil || ap.Port() == 0 {
		p.bad(l, v, "is not an address to serve the metrics on: an IP address and a port, as in 127.0.0.1:9469 or [::1]:9469")
		return
	}
	p.g.Metrics = ap
	warnExtension(p, l)
	if ap.Addr().IsUnspecified() {
		// Anyone who reaches the port reads the metrics, which name
		// every real server and its state.
		p.warnf(l.num, l.name, "serves the metrics on every address of this host, unprotected; a loopback or management address is safer")
	}
}

// extensionTime reads a time of an extension: whole seconds as the Perl
// directives write them ("30"), or with Go's units ("30s", "2m", "1m30s"),
// from 0 to an hour.
func extensionTime(v string) (time.Duration, bool) {
	var d time.Duration
	if isDigits(v) {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, false
		}
		d = time.Duration(n) * time.Second
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d%time.Second != 0 {
			return 0, false
		}
	}
	return d, d >= 0 && d <= maxExtensionTime
}

// percent reads "N%" with N a whole number from lo to hi. The '%' is
// required, so that the unit is on the line.
func percent(v string, lo, hi int) (int, bool) {
	num, ok := strings.CutSuffix(v, "%")
	if !ok || !isDigits(num) {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// checkExtensions looks at the effective settings of a scope for what
// cannot work together; vd is nil at the global level.
func (p *parser) checkExtensions(d *draft, s *Settings, vd *vdraft, v *Virtual) {
	if vd != nil && (v.Check.Type == CheckOn || v.Check.Type == CheckOff) {
		// Only a warning: checktype = on or off is often set for a while,
		// by hand, and refusing the file then would make the operator
		// edit the extensions out and back in.
		for _, name := range extensionNames {
			if line, ok := vd.set[name]; ok {
				p.warnf(line, name, "has no effect here: checktype = %s checks nothing", v.Check.Type)
			}
		}
		return
	}
	if s.FlapCount == 0 {
		return
	}
	// More than FlapCount changes of state are at least FlapCount checks
	// apart, and jitter may bring checks closer by its share. When they
	// cannot fit inside the window, damping never acts.
	gap := s.CheckInterval / 100 * time.Duration(100-s.CheckJitter)
	k := time.Duration(s.FlapCount)
	if gap < (s.FlapWindow+k-1)/k {
		return
	}
	if line, ok := d.set["flapdamping"]; ok {
		span := strconv.FormatFloat(gap.Seconds()*float64(s.FlapCount), 'f', -1, 64)
		p.errorf(line, "flapdamping", "%s can never act: %d changes of state (more than %d) span at least %d check intervals, %ss with checkinterval = %s and checkjitter = %d%%, which the window of %ss cannot hold; give a longer window or fewer changes",
			strconv.Quote(flapText(s)), s.FlapCount+1, s.FlapCount, s.FlapCount, span, secs(s.CheckInterval), s.CheckJitter, secs(s.FlapWindow))
		return
	}
	// The global flapdamping suits the global checkinterval; this block
	// checks too slowly for it, which is worth a word, not a refusal.
	p.warnf(vd.line, virtualDirective(vd.ipv6), "checks every %s seconds, too slowly for the global flapdamping = %s (line %d) ever to act here",
		secs(s.CheckInterval), flapText(s), p.global.set["flapdamping"])
}

// flapText prints flapdamping's value.
func flapText(s *Settings) string {
	return strconv.Itoa(s.FlapCount) + "/" + secs(s.FlapWindow) + "s"
}

// failOpenText prints failopen's value.
func failOpenText(s *Settings) string {
	return strconv.Itoa(s.FailOpen) + "% " + secs(s.FailOpenHold)
}

// extensions prints the health extensions that are set; g is nil at the
// global level. In a block only those that differ from the global value are
// printed, so that a Perl configuration prints as before.
func (f *formatter) extensions(in string, s, g *Settings) {
	var zero Settings
	if g == nil {
		g = &zero
	}
	if s.Rise != g.Rise {
		f.set(in, "rise", strconv.Itoa(max(1, s.Rise)))
	}
	if s.SlowStart != g.SlowStart {
		f.set(in, "slowstart", secs(s.SlowStart))
	}
	if s.FailOpen != g.FailOpen || s.FailOpenHold != g.FailOpenHold {
		if s.FailOpen == 0 {
			f.set(in, "failopen", "off")
		} else {
			f.set(in, "failopen", failOpenText(s))
		}
	}
	if s.FlapCount != g.FlapCount || s.FlapWindow != g.FlapWindow {
		if s.FlapCount == 0 {
			f.set(in, "flapdamping", "off")
		} else {
			f.set(in, "flapdamping", flapText(s))
		}
	}
	if s.CheckJitter != g.CheckJitter {
		f.set(in, "checkjitter", strconv.Itoa(s.CheckJitter)+"%")
	}
}

// SyncDaemon is the syncdaemon directive: the kernel's IPVS connection
// sync daemon the daemon starts, adopts and stops. Zero options are the
// kernel's defaults.
type SyncDaemon struct {
	// State is SyncMaster, SyncBackup or SyncBoth (a master and a backup
	// on the same interface, with the same options).
	State     string
	Interface string
	SyncID    uint8      // syncid=, 0..255; 0: the kernel's default, 0
	Group     netip.Addr // group=, a multicast address; invalid: the kernel's default
	Port      uint16     // port=; 0: the kernel's default, 8848
	TTL       uint8      // ttl=; 0: the kernel's default, 1
	MaxLen    uint16     // maxlen=; 0: the kernel's default, from the interface's MTU
}

// The states of the syncdaemon directive.
const (
	SyncMaster = "master"
	SyncBackup = "backup"
	SyncBoth   = "both"
)

// The bounds of maxlen: the smallest datagram every IPv4 host takes, and
// the largest UDP payload.
const (
	minSyncMaxLen = 576
	maxSyncMaxLen = 65507
)

// String prints the directive's value as the configuration writes it.
func (s *SyncDaemon) String() string {
	b := []string{s.State, s.Interface}
	if s.SyncID != 0 {
		b = append(b, "syncid="+strconv.Itoa(int(s.SyncID)))
	}
	if s.Group.IsValid() {
		b = append(b, "group="+s.Group.String())
	}
	if s.Port != 0 {
		b = append(b, "port="+strconv.Itoa(int(s.Port)))
	}
	if s.TTL != 0 {
		b = append(b, "ttl="+strconv.Itoa(int(s.TTL)))
	}
	if s.MaxLen != 0 {
		b = append(b, "maxlen="+strconv.Itoa(int(s.MaxLen)))
	}
	return strings.Join(b, " ")
}

const syncDaemonForm = "write master, backup or both, an interface and options, as in master eth1 syncid=10"

// applySyncDaemon reads syncdaemon = master|backup|both INTERFACE
// [syncid=N] [group=ADDR] [port=N] [ttl=N] [maxlen=N]. The interface is
// not looked for: it may come up after the daemon starts, and the kernel
// says so when the sync daemon is started.
func applySyncDaemon(p *parser, l srcLine, _ *draft, _ *vdraft) {
	v := unquote(l.value)
	words := strings.FieldsFunc(v, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
	if len(words) < 2 {
		p.bad(l, v, "is not a sync daemon: "+syncDaemonForm)
		return
	}
	s := &SyncDaemon{State: words[0], Interface: words[1]}
	if s.State != SyncMaster && s.State != SyncBackup && s.State != SyncBoth {
		p.bad(l, s.State, "is not a sync daemon state: master (send this director's connections), backup (receive them) or both")
		return
	}
	if !validInterface(s.Interface) {
		p.bad(l, s.Interface, "is not a network interface name: 1 to 15 characters, without white space, '/' or ':'")
		return
	}
	seen := map[string]bool{}
	for _, w := range words[2:] {
		name, val, ok := strings.Cut(w, "=")
		if !ok || seen[name] {
			if ok {
				p.bad(l, w, "repeats "+name+"=: give each option once")
			} else {
				p.bad(l, w, "is not an option of syncdaemon: syncid=N, group=ADDRESS, port=N, ttl=N or maxlen=N")
			}
			return
		}
		seen[name] = true
		if !s.option(p, l, name, val) {
			return
		}
	}
	p.g.SyncDaemon = s
	warnExtension(p, l)
}

// option sets one NAME=VALUE of the directive, or reports it and returns
// false.
func (s *SyncDaemon) option(p *parser, l srcLine, name, val string) bool {
	num := func(lo, hi int, what string) (int, bool) {
		n, err := strconv.Atoi(val)
		if err != nil || !isDigits(val) || n < lo || n > hi {
			p.bad(l, name+"="+val, "is not "+what+": a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
			return 0, false
		}
		return n, true
	}
	var n int
	ok := true
	switch name {
	case "syncid":
		n, ok = num(0, 255, "a sync id")
		s.SyncID = uint8(n)
	case "port":
		n, ok = num(1, 65535, "a UDP port")
		s.Port = uint16(n)
	case "ttl":
		n, ok = num(1, 255, "a multicast TTL")
		s.TTL = uint8(n)
	case "maxlen":
		n, ok = num(minSyncMaxLen, maxSyncMaxLen, "a largest sync message in bytes")
		s.MaxLen = uint16(n)
	case "group":
		a, err := netip.ParseAddr(val)
		if err != nil || !a.IsMulticast() || a.Zone() != "" {
			p.bad(l, name+"="+val, "is not a multicast group: an IPv4 address in 224.0.0.0/4 or an IPv6 address in ff00::/8, as in 224.0.0.81")
			return false
		}
		s.Group = a
	default:
		p.bad(l, name+"="+val, "is not an option of syncdaemon: syncid=N, group=ADDRESS, port=N, ttl=N or maxlen=N")
		return false
	}
	return ok
}

// validInterface is what the kernel takes as a network interface name
// (dev_valid_name): 1 to 15 bytes, not "." or "..", without '/', ':' or
// white space.
func validInterface(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '/' || c == ':' || c <= ' ' || c == 0x7f || c >= 0x80 {
			return false
		}
	}
	return true
}
