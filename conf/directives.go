package conf

import (
	"strconv"
	"strings"
	"time"
)

// scope says where a directive may stand.
type scope int

const (
	inGlobal scope = 1 << iota
	inVirtual
	inBoth = inGlobal | inVirtual
)

// directive is one entry of the language: where it may stand and what it
// does. apply reports its own errors; vd is nil at the global level.
type directive struct {
	where  scope
	bare   bool // may stand without "= value" ("supervised")
	repeat bool // may be given more than once (execute, real)
	apply  func(p *parser, l srcLine, d *draft, vd *vdraft)
}

// directives is the whole language. The Settings ones (both scopes) write
// into the draft of their scope; the others into the Global or the Virtual.
var directives = map[string]directive{
	// Timing and counting: global defaults, overridable per virtual.
	"checktimeout": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		if t, ok := p.seconds(l, false); ok {
			d.s.CheckTimeout = t
		}
	}},
	"negotiatetimeout": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		if t, ok := p.seconds(l, false); ok {
			d.s.NegotiateTimeout = t
		}
	}},
	"checkinterval": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		if t, ok := p.seconds(l, false); ok {
			d.s.CheckInterval = t
		}
	}},
	"checkcount": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		if n, ok := p.count(l); ok {
			d.s.CheckCount = n
			p.warnf(l.num, l.name, "is deprecated and slated for removal: see failurecount")
		}
	}},
	"failurecount": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		if n, ok := p.count(l); ok {
			d.s.FailureCount = n
		}
	}},
	"quiescent": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		p.yesNo(l, &d.s.Quiescent)
	}},
	"readdquiescent": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		p.yesNo(l, &d.s.ReaddQuiescent)
	}},
	"cleanstop": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		p.yesNo(l, &d.s.Cleanstop)
	}},
	"fallback":  {where: inBoth, apply: applyFallback},
	"fallback6": {where: inBoth, apply: applyFallback},
	"fallbackcommand": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		p.text(l, &d.s.FallbackCommand, "is empty: give the path of a script")
	}},
	"emailalert": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		var to []string
		for _, a := range strings.Split(unquote(l.value), ",") {
			if a = trimSpace(a); a != "" {
				to = append(to, a)
			}
		}
		if len(to) == 0 {
			p.bad(l, unquote(l.value), "has no email address")
			return
		}
		d.s.EmailAlert = to
	}},
	"emailalertfrom": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		// Kept as written, quotes and all: the page says quotes are
		// passed into the From header.
		if l.value == "" {
			p.bad(l, l.value, "has no email address")
			return
		}
		d.s.EmailAlertFrom = l.value
	}},
	"emailalertfreq": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		if t, ok := p.seconds(l, true); ok {
			d.s.EmailAlertFreq = t
		}
	}},
	"emailalertstatus": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		if st, ok := p.emailStatus(l); ok {
			d.s.EmailAlertStatus = st
		}
	}},
	"smtp": {where: inBoth, apply: func(p *parser, l srcLine, d *draft, _ *vdraft) {
		v := unquote(l.value)
		if !isSMTPHost(v) {
			p.bad(l, v, "is not an SMTP server: give a host name or an IPv4 address")
			return
		}
		d.s.SMTP = v
	}},

	// The health extensions (extensions.go): global defaults, overridable
	// per virtual, but sharedchecks, which is global only.
	"rise":         {where: inBoth, apply: extension(applyRise)},
	"slowstart":    {where: inBoth, apply: extension(applySlowStart)},
	"failopen":     {where: inBoth, apply: extension(applyFailOpen)},
	"flapdamping":  {where: inBoth, apply: extension(applyFlapDamping)},
	"checkjitter":  {where: inBoth, apply: extension(applyCheckJitter)},
	"sharedchecks": {where: inGlobal, apply: applySharedChecks},
	"metrics":      {where: inGlobal, apply: applyMetrics},
	"syncdaemon":   {where: inGlobal, apply: applySyncDaemon},

	// Global only.
	"autoreload": {where: inGlobal, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		p.yesNo(l, &p.g.AutoReload)
	}},
	"callback": {where: inGlobal, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		p.text(l, &p.g.Callback, "is empty: give the path of a program")
	}},
	"logfile": {where: inGlobal, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		v := unquote(l.value)
		switch {
		case strings.HasPrefix(v, "/"):
		case syslogFacilities[v]:
		default:
			p.bad(l, v, "is neither an absolute path nor a syslog facility (daemon, local0 ... local7, ...)")
			return
		}
		p.g.LogFile = v
	}},
	"execute": {where: inGlobal, repeat: true, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		v := unquote(l.value)
		if v == "" {
			p.bad(l, v, "is empty: give the name of a configuration")
			return
		}
		for _, e := range p.g.Execute {
			if e == v {
				p.warnf(l.num, l.name, "%q is already executed; the repeat is ignored", v)
				return
			}
		}
		p.g.Execute = append(p.g.Execute, v)
	}},
	"supervised": {where: inGlobal, bare: true, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		if !l.hasEq {
			if l.value != "" {
				p.errorf(l.num, l.name, "has %q after it: write \"supervised = yes\" or \"supervised = no\"", l.value)
				return
			}
			p.g.Supervised = true
			p.warnf(l.num, l.name, "is bare; write \"supervised = yes\"")
			return
		}
		p.yesNo(l, &p.g.Supervised)
	}},
	"fork": {where: inGlobal, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		p.yesNo(l, &p.g.Fork)
	}},
	"maintenancedir": {where: inGlobal, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		p.text(l, &p.g.MaintenanceDir, "is empty: give a directory")
	}},
	"connecttimeout": {where: inBoth, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		if vd != nil {
			p.errorf(l.num, l.name, "is deprecated in favour of negotiatetimeout")
			return
		}
		if t, ok := p.seconds(l, false); ok {
			p.g.ConnectTimeout = t
			p.warnf(l.num, l.name, "is not used; checktimeout and negotiatetimeout are")
		}
	}},
	"timeout": {where: inBoth, apply: func(p *parser, l srcLine, _ *draft, _ *vdraft) {
		p.errorf(l.num, l.name, "is deprecated in favour of checktimeout and negotiatetimeout")
	}},

	// Virtual blocks only.
	"real":  {where: inVirtual, repeat: true, apply: applyReal},
	"real6": {where: inVirtual, repeat: true, apply: applyReal},
	"checktype": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		c := &vd.v.Check
		switch v {
		case "connect", "external", "external-perl", "negotiate", "off", "on", "ping":
			c.Type, c.ConnectsBeforeNegotiate = CheckType(v), 0
			return
		}
		// The 4.12 page writes the number as "checktimeoutN".
		num := strings.TrimPrefix(v, "checktimeout")
		if n, err := strconv.ParseUint(num, 10, 31); err == nil && n > 0 && isDigits(num) {
			c.Type, c.ConnectsBeforeNegotiate = CheckCombined, int(n)
			return
		}
		p.bad(l, v, "is not a check type: connect, external, external-perl, negotiate, off, on, ping or a number of connect checks above 0")
	}},
	"service": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		if !IsService(v) {
			p.bad(l, v, "is not a service: "+serviceList())
			return
		}
		vd.v.Check.Service = v
	}},
	"checkcommand": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.Command, "is empty: give the command to run")
	}},
	"checkport": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 || !isDigits(v) {
			p.bad(l, v, "is not a port: a whole number from 1 to 65535")
			return
		}
		vd.v.Check.Port = uint16(n)
	}},
	"request": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.Request, "is empty: give what the check asks for")
	}},
	"receive": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.Receive, "is empty: leave receive out to accept any answer")
	}},
	"httpmethod": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := strings.ToUpper(unquote(l.value))
		if v != "GET" && v != "HEAD" {
			p.bad(l, unquote(l.value), "is not an HTTP method: GET or HEAD")
			return
		}
		vd.v.Check.HTTPMethod = v
	}},
	"virtualhost": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.VirtualHost, "is empty: give the Host header to send")
	}},
	"login": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.Login, "is empty: leave login out for none")
	}},
	"passwd": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.Passwd, "is empty: leave passwd out for none")
	}},
	"database": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.Database, "is empty: give the name of a database")
	}},
	"secret": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.Check.Secret, "is empty: give the RADIUS secret")
	}},
	"scheduler": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		if !isScheduler(v) {
			p.bad(l, v, "is not a scheduler name: lowercase letters, at most 15, such as rr, wrr, lc, wlc, sh, mh")
			return
		}
		vd.v.Scheduler = v
	}},
	"schedflags": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		var flags []string
	next:
		for _, f := range strings.Split(v, ",") {
			f = trimSpace(f)
			if !schedFlags[f] {
				p.bad(l, f, "is not a scheduler flag: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2 or flag-3, separated by commas")
				return
			}
			for _, g := range flags {
				if g == f {
					continue next
				}
			}
			flags = append(flags, f)
		}
		vd.v.SchedFlags = flags
	}},
	"persistent": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || n > maxPersistent || !isDigits(v) {
			p.bad(l, v, "is not a persistence timeout: a whole number of seconds from 1 to 2678400 (31 days)")
			return
		}
		vd.v.Persistent = time.Duration(n) * time.Second
	}},
	"netmask": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		if vd.ipv6 {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 128 || !isDigits(v) {
				p.bad(l, v, "is not an IPv6 netmask: a prefix length from 1 to 128")
				return
			}
			vd.v.NetmaskBits = n
			return
		}
		n, ok := maskBits(v)
		if !ok {
			p.bad(l, v, "is not an IPv4 netmask: a dotted quad such as 255.255.255.0")
			return
		}
		vd.v.NetmaskBits = n
	}},
	"protocol": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		switch {
		case v != "tcp" && v != "udp" && v != "fwm":
			p.bad(l, v, "is not a protocol: tcp, udp or fwm")
		case vd.bad:
		case vd.fwmark != 0 && v != "fwm":
			p.bad(l, v, "does not fit a firewall-mark virtual service: its protocol is fwm")
		case vd.fwmark == 0 && v == "fwm":
			p.bad(l, v, "is only for a firewall-mark virtual service (virtual = N): this one has an address, so tcp or udp")
		default:
			vd.v.Protocol = Protocol(v)
		}
	}},
	"monitorfile": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.text(l, &vd.v.MonitorFile, "is empty: give the path of a file")
	}},
	"ops": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		p.yesNo(l, &vd.v.OPS)
	}},
	"servicename": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		vd.v.ServiceName = unquote(l.value)
	}},
	"comment": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		vd.v.Comment = unquote(l.value)
	}},
	"load": {where: inVirtual, apply: func(p *parser, l srcLine, _ *draft, vd *vdraft) {
		v := unquote(l.value)
		if !isWord(v) {
			p.bad(l, v, "is not a word of letters, digits and '_'")
			return
		}
		vd.v.Load = v
	}},
}

// maxPersistent is the longest persistence ipvsadm accepts: 31 days.
const maxPersistent = 31 * 24 * 3600

// seconds reads a whole number of seconds, above 0 unless zeroOK.
func (p *parser) seconds(l srcLine, zeroOK bool) (time.Duration, bool) {
	v := unquote(l.value)
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || !isDigits(v) || (n == 0 && !zeroOK) {
		if zeroOK {
			p.bad(l, v, "is not a number of seconds (0 or more)")
		} else {
			p.bad(l, v, "is not a positive number of seconds")
		}
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// count reads a whole number above 0.
func (p *parser) count(l srcLine) (int, bool) {
	v := unquote(l.value)
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil || n == 0 || !isDigits(v) {
		p.bad(l, v, "is not a positive whole number")
		return 0, false
	}
	return int(n), true
}

func (p *parser) yesNo(l srcLine, dst *bool) {
	switch v := unquote(l.value); v {
	case "yes":
		*dst = true
	case "no":
		*dst = false
	default:
		p.bad(l, v, "is neither yes nor no")
	}
}

// text reads a string that may be quoted and must not be empty.
func (p *parser) text(l srcLine, dst *string, ifEmpty string) {
	v := unquote(l.value)
	if v == "" {
		p.bad(l, v, ifEmpty)
		return
	}
	*dst = v
}

// The daemon states of emailalertstatus, in the order they are printed.
var emailStates = []string{"starting", "running", "stopping", "reloading"}

func allEmailStatus() []string { return append([]string(nil), emailStates...) }

// emailStatus reads emailalertstatus: "all", "none", or a list of states.
// The result lists the states in a fixed order, or is []string{"none"}.
func (p *parser) emailStatus(l srcLine) ([]string, bool) {
	v := unquote(l.value)
	want := map[string]bool{}
	none := false
	for _, s := range strings.Split(v, ",") {
		s = trimSpace(s)
		switch s {
		case "none":
			none = true
		case "all":
			for _, st := range emailStates {
				want[st] = true
			}
		case "starting", "running", "stopping", "reloading":
			want[s] = true
		default:
			p.bad(l, s, "is not an email alert status: all, none, starting, running, stopping or reloading, separated by commas")
			return nil, false
		}
	}
	if none {
		if len(want) > 0 {
			p.bad(l, v, "lists none together with other states")
			return nil, false
		}
		return []string{"none"}, true
	}
	var out []string
	for _, st := range emailStates {
		if want[st] {
			out = append(out, st)
		}
	}
	return out, true
}

var syslogFacilities = map[string]bool{
	"auth": true, "authpriv": true, "cron": true, "daemon": true, "ftp": true, "kern": true,
	"lpr": true, "mail": true, "news": true, "syslog": true, "user": true, "uucp": true,
	"local0": true, "local1": true, "local2": true, "local3": true,
	"local4": true, "local5": true, "local6": true, "local7": true,
}

var schedFlags = map[string]bool{
	"sh-fallback": true, "sh-port": true, "mh-fallback": true, "mh-port": true,
	"flag-1": true, "flag-2": true, "flag-3": true,
}

func isScheduler(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isSMTPHost accepts what ldirectord's [0-9A-Za-z._+-]+ does.
func isSMTPHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// maskBits turns a dotted-quad netmask into its prefix length; the mask must
// be contiguous ones.
func maskBits(s string) (int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, false
	}
	var m uint32
	for _, part := range parts {
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil || !isDigits(part) {
			return 0, false
		}
		m = m<<8 | uint32(n)
	}
	bits := 0
	for bits < 32 && m&(1<<(31-bits)) != 0 {
		bits++
	}
	if bits < 32 && m<<bits != 0 {
		return 0, false
	}
	return bits, true
}

// suggest names the known directive closest to a misspelt one, or "".
func suggest(name string) string {
	best, bestD := "", 3
	for k := range directives {
		if d := editDistance(name, k); d < bestD || d == bestD && best != "" && k < best {
			best, bestD = k, d
		}
	}
	if bestD > 2 || len(name) < 3 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
