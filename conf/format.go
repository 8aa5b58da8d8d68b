package conf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format prints the effective configuration: every default resolved, every
// host name and service name replaced by its address and port, every range
// expanded, in the configuration language itself, so that Parse reads it
// back into an equal Config (Line numbers and Warnings aside). What it
// prints is also what the Perl ldirectord accepts, as far as the
// configuration allows: settings only this implementation accepts per
// virtual (readdquiescent, emailalertfrom) appear in a block only when they
// differ from the global value, the deprecated checkcount only when it is
// not 1, and the health extensions (rise, slowstart, failopen, flapdamping,
// checkjitter, sharedchecks) and the other extensions (metrics, syncdaemon),
// which the Perl ldirectord refuses, only when they are set.
func Format(cfg *Config) []byte {
	var f formatter
	f.comment("Effective configuration of %s, read from %s, every default resolved.", oneLine(cfg.Name), oneLine(cfg.File))
	f.blank()
	g := &cfg.Global
	d := &g.Defaults
	f.timing("", d, nil, g.Fork)
	f.set("", "autoreload", yesNo(g.AutoReload))
	if g.Callback != "" {
		f.set("", "callback", quoted(g.Callback))
	}
	if d.Fallback != nil {
		f.set("", "fallback", fallbackText(d.Fallback, false))
	}
	if d.Fallback6 != nil {
		f.set("", "fallback6", fallbackText(d.Fallback6, false))
	}
	f.set("", "logfile", quoted(g.LogFile))
	f.mail("", d, nil)
	for _, e := range g.Execute {
		f.set("", "execute", plain(e))
	}
	f.set("", "supervised", yesNo(g.Supervised))
	f.set("", "fork", yesNo(g.Fork))
	f.flags("", d, nil)
	f.extensions("", d, nil)
	if g.SharedChecks {
		f.set("", "sharedchecks", "yes")
	}
	if g.Metrics.IsValid() {
		f.set("", "metrics", g.Metrics.String())
	}
	if g.SyncDaemon != nil {
		f.set("", "syncdaemon", g.SyncDaemon.String())
	}
	if g.MaintenanceDir != "" {
		f.set("", "maintenancedir", plain(g.MaintenanceDir))
	}
	if g.ConnectTimeout != 0 {
		f.set("", "connecttimeout", secs(g.ConnectTimeout))
	}
	for _, v := range cfg.Virtuals {
		f.blank()
		f.virtual(v, g)
	}
	return []byte(f.b.String())
}

type formatter struct{ b strings.Builder }

func (f *formatter) blank() { f.b.WriteByte('\n') }

func (f *formatter) comment(format string, args ...any) {
	fmt.Fprintf(&f.b, "# "+format+"\n", args...)
}

func (f *formatter) set(indent, name, value string) {
	fmt.Fprintf(&f.b, "%s%s = %s\n", indent, name, value)
}

// timing prints the timeouts and counts; g is nil at the global level.
func (f *formatter) timing(in string, s, g *Settings, fork bool) {
	f.set(in, "checktimeout", secs(s.CheckTimeout))
	f.set(in, "negotiatetimeout", secs(s.NegotiateTimeout))
	if g == nil || fork || s.CheckInterval != g.CheckInterval {
		f.set(in, "checkinterval", secs(s.CheckInterval))
	}
	if s.CheckCount != 1 || g != nil && g.CheckCount != 1 {
		f.set(in, "checkcount", strconv.Itoa(s.CheckCount))
	}
	f.set(in, "failurecount", strconv.Itoa(s.FailureCount))
}

// mail prints the alert settings; g is nil at the global level.
func (f *formatter) mail(in string, s, g *Settings) {
	if s.FallbackCommand != "" {
		f.set(in, "fallbackcommand", quoted(s.FallbackCommand))
	}
	if len(s.EmailAlert) > 0 {
		f.set(in, "emailalert", quoted(strings.Join(s.EmailAlert, ", ")))
	}
	if s.EmailAlertFrom != "" && (g == nil || s.EmailAlertFrom != g.EmailAlertFrom) {
		f.set(in, "emailalertfrom", raw(s.EmailAlertFrom))
	}
	f.set(in, "emailalertfreq", secs(s.EmailAlertFreq))
	f.set(in, "emailalertstatus", emailStatusText(s.EmailAlertStatus))
	if s.SMTP != "" {
		f.set(in, "smtp", s.SMTP)
	}
}

// flags prints the yes/no settings; g is nil at the global level.
func (f *formatter) flags(in string, s, g *Settings) {
	f.set(in, "quiescent", yesNo(s.Quiescent))
	if g == nil || s.ReaddQuiescent != g.ReaddQuiescent {
		f.set(in, "readdquiescent", yesNo(s.ReaddQuiescent))
	}
	f.set(in, "cleanstop", yesNo(s.Cleanstop))
}

func (f *formatter) virtual(v *Virtual, g *Global) {
	const in = "\t"
	switch {
	case v.FWMark != 0:
		f.set("", virtualDirective(v.IPv6), strconv.FormatUint(uint64(v.FWMark), 10))
	default:
		f.set("", virtualDirective(v.IPv6), addrPort(v.Addr, v.Port))
	}
	realDir := "real"
	if v.IPv6 {
		realDir = "real6"
	}
	for _, r := range v.Reals {
		f.set(in, realDir, realText(v, r))
	}
	if fb := v.Fallback(); fb != nil {
		fbDir := "fallback"
		if v.IPv6 {
			fbDir = "fallback6"
		}
		f.set(in, fbDir, fallbackText(fb, true))
	}
	f.set(in, "protocol", string(v.Protocol))
	f.set(in, "scheduler", v.Scheduler)
	if len(v.SchedFlags) > 0 {
		f.set(in, "schedflags", strings.Join(v.SchedFlags, ","))
	}
	if v.Persistent > 0 {
		f.set(in, "persistent", secs(v.Persistent))
	}
	if v.IPv6 {
		f.set(in, "netmask", strconv.Itoa(v.NetmaskBits))
	} else {
		f.set(in, "netmask", maskText(v.NetmaskBits))
	}
	if v.Protocol == UDP {
		f.set(in, "ops", yesNo(v.OPS))
	}
	c := &v.Check
	if c.Type == CheckCombined {
		f.set(in, "checktype", strconv.Itoa(c.ConnectsBeforeNegotiate))
	} else {
		f.set(in, "checktype", string(c.Type))
	}
	f.set(in, "service", c.Service)
	f.set(in, "checkcommand", quoted(c.Command))
	if c.Port != 0 {
		f.set(in, "checkport", strconv.Itoa(int(c.Port)))
	}
	for _, kv := range []struct{ name, value string }{
		{"request", c.Request}, {"receive", c.Receive},
	} {
		if kv.value != "" {
			f.set(in, kv.name, quoted(kv.value))
		}
	}
	f.set(in, "httpmethod", c.HTTPMethod)
	for _, kv := range []struct{ name, value string }{
		{"virtualhost", c.VirtualHost}, {"login", c.Login}, {"passwd", c.Passwd},
		{"database", c.Database}, {"secret", c.Secret}, {"monitorfile", v.MonitorFile},
		{"load", v.Load},
	} {
		if kv.value != "" {
			f.set(in, kv.name, quoted(kv.value))
		}
	}
	for _, kv := range []struct{ name, value string }{
		{"servicename", v.ServiceName}, {"comment", v.Comment},
	} {
		if kv.value != "" {
			f.set(in, kv.name, plain(kv.value))
		}
	}
	s := &v.Settings
	f.timing(in, s, &g.Defaults, g.Fork)
	f.flags(in, s, &g.Defaults)
	f.mail(in, s, &g.Defaults)
	f.extensions(in, s, &g.Defaults)
}

// realText prints a real server's words after "real =".
func realText(v *Virtual, r *Real) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %d", addrPort(r.Addr, r.Port), r.Method, r.Weight)
	if r.Request != v.Check.Request || r.Receive != v.Check.Receive {
		fmt.Fprintf(&b, " %s, %s", word(r.Request), word(r.Receive))
	}
	if r.Lower != 0 {
		fmt.Fprintf(&b, " l:%d", r.Lower)
	}
	if r.Upper != 0 {
		fmt.Fprintf(&b, " u:%d", r.Upper)
	}
	return b.String()
}

// fallbackText prints a fallback server. A global one with port 0 is
// printed without a port: it takes the port of each virtual.
func fallbackText(r *Real, inBlock bool) string {
	if r.Port == 0 && !inBlock {
		return fmt.Sprintf("%s %s", hostText(r), r.Method)
	}
	return fmt.Sprintf("%s %s", addrPort(r.Addr, r.Port), r.Method)
}

func hostText(r *Real) string {
	if r.Addr.Is6() {
		return "[" + r.Addr.String() + "]"
	}
	return r.Addr.String()
}

func maskText(bits int) string {
	m := uint32(0)
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return fmt.Sprintf("%d.%d.%d.%d", byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}

func emailStatusText(st []string) string {
	if len(st) == len(emailStates) {
		return "all"
	}
	if len(st) == 0 {
		return "none"
	}
	return strings.Join(st, ",")
}

// oneLine keeps a file name from breaking the comment it is printed in.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strconv.Quote(s)
	}
	return s
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// word quotes one word of a real line: request and receive.
func word(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + s + "'"
}

// quoted writes a value that Parse unquotes, in quotes where it can.
func quoted(v string) string { return pick(v, true, `"`+v+`"`, "'"+v+"'", v) }

// plain writes a value that Parse unquotes, bare where it can.
func plain(v string) string { return pick(v, true, v, `"`+v+`"`, "'"+v+"'") }

// raw writes a value that Parse keeps as written.
func raw(v string) string { return pick(v, false, v) }

// pick returns the first candidate that reads back as v.
func pick(v string, unq bool, candidates ...string) string {
	for _, c := range candidates {
		got := trimSpace(stripComment(c))
		if unq {
			got = unquote(got)
		}
		if got == v {
			return c
		}
	}
	return candidates[0]
}

// Hidden replaces a passwd or secret in Redacted's copy.
const Hidden = "<hidden>"

// Redacted returns a copy of cfg with every passwd and secret replaced by
// Hidden, for output that others may read (ldirectord --check lands in
// terminals, CI logs and tickets). cfg is not changed.
func Redacted(cfg *Config) *Config {
	out := *cfg
	out.Virtuals = make([]*Virtual, len(cfg.Virtuals))
	for i, v := range cfg.Virtuals {
		c := *v
		if c.Check.Passwd != "" {
			c.Check.Passwd = Hidden
		}
		if c.Check.Secret != "" {
			c.Check.Secret = Hidden
		}
		out.Virtuals[i] = &c
	}
	return &out
}
