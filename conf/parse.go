package conf

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
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
	src, err := readConfig(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the configuration: %v", err)}}
	}
	return o.Parse(path, src)
}

// MaxFileSize bounds a configuration file: a file larger than this is not
// one, and reading it whole would cost the daemon its memory.
const MaxFileSize = 32 << 20

// MaxLineLength bounds one line of a configuration.
const MaxLineLength = 64 << 10

// readConfig reads the regular file at path, at most MaxFileSize bytes. It
// opens without blocking, so that a FIFO put where the file was is refused
// instead of waited on.
func readConfig(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, not a configuration file", path, describeMode(st.Mode()))
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes long; a configuration has at most %d", path, st.Size(), MaxFileSize)
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err == nil && len(src) > MaxFileSize {
		err = fmt.Errorf("%s grew past %d bytes while it was read", path, MaxFileSize)
	}
	return src, err
}

// Parse parses the text of a configuration file into a Config with every
// default resolved. On any error it returns nil and an Errors with the
// problems found, in line order: nothing is half-loaded. A line that
// holds a NUL byte or is longer than MaxLineLength is refused unread.
func (o Options) Parse(file string, src []byte) (*Config, error) {
	p := newParser(file, o)
	for i, text := range splitLines(src) {
		if len(text) > MaxLineLength {
			p.errorf(i+1, "", "the line is %d bytes long; a configuration line has at most %d", len(text), MaxLineLength)
			continue
		}
		if j := strings.IndexByte(text, 0); j >= 0 {
			p.errorf(i+1, "", "a NUL byte at column %d: a configuration file is text", j+1)
			continue
		}
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

	// overflow stands in errs for each problem found after maxKept: counted
	// (the directives compare len(errs) before and after), not kept.
	overflow *Error
	nwarns   int // warnings found, those not kept included
}

// maxKept bounds the errors and the warnings a parser keeps.
const maxKept = 100

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
	p.overflow = &Error{}
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

// errorf records a problem. The text kept is bounded: a value of a
// thousand bytes costs a message of a few hundred.
func (p *parser) errorf(line int, directive, format string, args ...any) {
	if len(p.errs) >= maxKept {
		p.errs = append(p.errs, p.overflow)
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Directive: cut(directive, 80), Msg: cut(fmt.Sprintf(format, args...), maxMessage)})
}

// bad reports a wrong value: the value, quoted, then what was expected.
func (p *parser) bad(l srcLine, value, expected string) {
	p.errorf(l.num, l.name, "%s %s", strconv.Quote(value), expected)
}

func (p *parser) warnf(line int, directive, format string, args ...any) {
	p.nwarns++
	if len(p.warns) >= maxKept {
		return
	}
	p.warns = append(p.warns, Warning{File: p.file, Line: line, Directive: cut(directive, 80), Msg: cut(fmt.Sprintf(format, args...), maxMessage)})
}

// line handles one meaningful line.
func (p *parser) line(l srcLine) {
	if q := l.value; l.hasEq && q != "" && (q[0] == '"' || q[0] == '\'') && strings.IndexByte(q[1:], q[0]) < 0 {
		p.errorf(l.num, l.name, "%s opens a quote that the line does not close: add the closing %c or remove the opening one", strconv.Quote(q), q[0])
		return
	}
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
		total := len(p.errs)
		kept := slices.DeleteFunc(p.errs, func(e *Error) bool { return e == p.overflow })
		omitted := total - len(kept)
		sort.SliceStable(kept, func(i, j int) bool { return kept[i].Line < kept[j].Line })
		kept[len(kept)-1].omitted = omitted
		return nil, kept
	}
	sort.SliceStable(p.warns, func(i, j int) bool { return p.warns[i].Line < p.warns[j].Line })
	if more := p.nwarns - len(p.warns); more > 0 {
		p.warns = append(p.warns, Warning{File: p.file, Msg: fmt.Sprintf("and %d more %s", more, plural(more, "warning", "warnings"))})
	}
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
