package conf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Load reads and parses the configuration file at path with the default
// options: the system resolver and host name.
func Load(path string) (*Config, error) {
	return Options{}.Load(path)
}

// Parse parses the text of a configuration file with the default options;
// file names it in messages and in Config.File.
func Parse(file string, src []byte) (*Config, error) {
	return Options{}.Parse(file, src)
}

// Load reads and parses the configuration file at path.
func (o Options) Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the configuration: %v", err)}}
	}
	return o.Parse(path, src)
}

// Parse parses the text of a configuration file into a Config with every
// default resolved. On any error it returns nil and an Errors with every
// problem found, in line order: nothing is half-loaded.
func (o Options) Parse(file string, src []byte) (*Config, error) {
	p := newParser(file, o)
	for i, text := range splitLines(src) {
		if l, ok := lexLine(i+1, text); ok {
			p.line(l)
		}
	}
	return p.finish()
}

// draft holds the settings one scope (global or a virtual block) has set, and
// on which line each was set.
type draft struct {
	s   Settings
	set map[string]int
	// fallback holds the fallback and fallback6 lines as written, resolved
	// at the end, when the protocol of the virtual is known.
	fallback [2]*fallbackSpec // [0] IPv4, [1] IPv6
}

func (d *draft) has(name string) bool {
	_, ok := d.set[name]
	return ok
}

// vdraft is a virtual block being read.
type vdraft struct {
	draft
	line   int
	text   string // the value of the virtual line, for messages
	ipv6   bool
	bad    bool // the virtual line itself is wrong: read the block for its errors only
	fwmark uint32
	host   hostSpec
	port   string
	v      Virtual // the block's own values, defaults applied at the end
	reals  []*realSpec
}

type parser struct {
	file     string
	ctx      context.Context
	res      Resolver
	hostname string
	name     string

	errs  Errors
	warns []Warning

	global   draft
	g        Global
	cur      *vdraft // the open virtual block, nil at the global level
	virtuals []*vdraft
	nreals   int
	maxReals int
	hosts    map[lookupKey]hostAnswer
	ports    map[lookupKey]portAnswer
}

// MaxReals bounds the real servers of one configuration, ranges included,
// so that a typo in a range cannot exhaust memory.
const MaxReals = 65536

func newParser(file string, o Options) *parser {
	p := &parser{file: file, ctx: context.Background(), res: o.Resolver, hostname: o.Hostname, name: o.Name, maxReals: o.maxReals}
	if p.maxReals <= 0 {
		p.maxReals = MaxReals
	}
	if p.res == nil {
		p.res = NetResolver{}
	}
	if p.hostname == "" {
		p.hostname = defaultHostname()
	}
	if p.name == "" {
		p.name = filepath.Base(file)
	}
	p.global.set = map[string]int{}
	p.hosts = map[lookupKey]hostAnswer{}
	p.ports = map[lookupKey]portAnswer{}
	return p
}

// defaultHostname is ldirectord's $HOSTNAME: the environment variable, else
// the kernel's host name.
func defaultHostname() string {
	if h := os.Getenv("HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

func (p *parser) errorf(line int, directive, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Directive: directive, Msg: fmt.Sprintf(format, args...)})
}

// bad reports a wrong value: the value, quoted, then what was expected.
func (p *parser) bad(l srcLine, value, expected string) {
	p.errorf(l.num, l.name, "%s %s", strconv.Quote(value), expected)
}

func (p *parser) warnf(line int, directive, format string, args ...any) {
	p.warns = append(p.warns, Warning{File: p.file, Line: line, Directive: directive, Msg: fmt.Sprintf(format, args...)})
}

// line handles one meaningful line.
func (p *parser) line(l srcLine) {
	if l.name == "virtual" || l.name == "virtual6" {
		if l.indent > 0 {
			p.errorf(l.num, l.name, "must start at the beginning of the line; a virtual block cannot be inside another")
		}
		p.startVirtual(l)
		return
	}
	if l.indent == 0 {
		p.cur = nil
	} else if p.cur == nil {
		p.errorf(l.num, l.name, "is indented, but no virtual line comes before it: a virtual block starts with \"virtual = address:port\"")
		return
	} else if l.indent < 4 {
		p.errorf(l.num, l.name, "is indented by %d spaces: lines of a virtual block are indented by at least 4 spaces or a tab", l.indent)
	}
	d, ok := directives[l.name]
	if !ok {
		msg := "is not a directive of ldirectord"
		if s := suggest(l.name); s != "" {
			msg += "; did you mean " + s + "?"
		}
		p.errorf(l.num, l.name, "%s", msg)
		return
	}
	if p.cur == nil && d.where&inGlobal == 0 {
		p.errorf(l.num, l.name, "belongs in a virtual block: indent it under a virtual line")
		return
	}
	if p.cur != nil && d.where&inVirtual == 0 {
		p.errorf(l.num, l.name, "is a global directive: it is not valid inside a virtual block")
		return
	}
	if !l.hasEq && !d.bare {
		p.errorf(l.num, l.name, "has no '=': write %q", l.name+" = value")
		return
	}
	dr := &p.global
	var vd *vdraft
	if p.cur != nil {
		vd = p.cur
		dr = &vd.draft
	}
	if d.repeat {
		d.apply(p, l, dr, vd)
		return
	}
	before := len(p.errs)
	d.apply(p, l, dr, vd)
	if len(p.errs) == before {
		if prev, ok := dr.set[l.name]; ok {
			p.warnf(l.num, l.name, "is also set on line %d; the later value is used", prev)
		}
		dr.set[l.name] = l.num
	}
}

// startVirtual opens a block at a virtual or virtual6 line.
func (p *parser) startVirtual(l srcLine) {
	vd := &vdraft{line: l.num, ipv6: l.name == "virtual6"}
	vd.set = map[string]int{}
	p.cur = vd
	p.virtuals = append(p.virtuals, vd)
	if !l.hasEq {
		p.errorf(l.num, l.name, "has no '=': write %q", l.name+" = address:port")
		vd.bad = true
		return
	}
	val := unquote(l.value)
	vd.text = val
	if isDigits(val) {
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil || n == 0 {
			p.bad(l, val, "is not a firewall mark: a mark is a whole number from 1 to 4294967295")
			vd.bad = true
			return
		}
		vd.fwmark = uint32(n)
		return
	}
	h, port, hasPort, msg := splitHostPort(val)
	if msg == "" && !hasPort {
		msg = "has no port: write address:port (a port number or a service name such as http), or a firewall mark"
	}
	if msg == "" && h.text == "" {
		msg = "has no address before the ':'"
	}
	if msg != "" {
		p.bad(l, val, msg)
		vd.bad = true
		return
	}
	a, msg := p.resolveHost(h, vd.ipv6, "virtual")
	if msg != "" {
		p.bad(l, val, msg)
		vd.bad = true
		return
	}
	vd.v.Addr = a
	vd.host, vd.port = h, port
}

// finish resolves every default, checks what needs the whole file, and
// builds the Config.
func (p *parser) finish() (*Config, error) {
	cfg := &Config{File: p.file, Name: p.name}
	p.finishGlobal()
	cfg.Global = p.g
	seen := map[VirtualID]int{}
	for _, vd := range p.virtuals {
		v := p.finishVirtual(vd)
		if v == nil {
			continue
		}
		if first, ok := seen[v.ID]; ok {
			p.errorf(v.Line, virtualDirective(v.IPv6), "%s is the virtual service %s again, as on line %d", strconv.Quote(vd.text), v.ID, first)
			continue
		}
		seen[v.ID] = v.Line
		cfg.Virtuals = append(cfg.Virtuals, v)
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	sort.SliceStable(p.warns, func(i, j int) bool { return p.warns[i].Line < p.warns[j].Line })
	cfg.Warnings = p.warns
	return cfg, nil
}

func virtualDirective(ipv6 bool) string {
	if ipv6 {
		return "virtual6"
	}
	return "virtual"
}

// finishGlobal resolves the global defaults.
func (p *parser) finishGlobal() {
	d := &p.global
	s := d.s
	switch {
	case d.has("checktimeout"):
	case d.has("negotiatetimeout"):
		s.CheckTimeout = d.s.NegotiateTimeout
	default:
		s.CheckTimeout = 5 * time.Second
	}
	switch {
	case d.has("negotiatetimeout"):
	case d.has("checktimeout"):
		s.NegotiateTimeout = d.s.CheckTimeout
	default:
		s.NegotiateTimeout = 30 * time.Second
	}
	if !d.has("checkinterval") {
		s.CheckInterval = 10 * time.Second
	}
	if !d.has("checkcount") {
		s.CheckCount = 1
	}
	if !d.has("failurecount") {
		s.FailureCount = 1
	}
	if !d.has("cleanstop") {
		s.Cleanstop = true
	}
	if !d.has("emailalertstatus") {
		s.EmailAlertStatus = allEmailStatus()
	}
	for i, fs := range d.fallback {
		if fs == nil {
			continue
		}
		r := p.resolveFallback(fs, i == 1, "", 0)
		if i == 0 {
			s.Fallback = r
		} else {
			s.Fallback6 = r
		}
	}
	if p.g.LogFile == "" {
		p.g.LogFile = DefaultLogFile
	}
	p.g.Defaults = s
	p.checkExtensions(d, &p.g.Defaults, nil, nil)
}

// DefaultLogFile is where ldirectord logs when no logfile is set.
const DefaultLogFile = "/var/log/ldirectord.log"
