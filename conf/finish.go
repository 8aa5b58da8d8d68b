package conf

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// finishVirtual resolves a virtual block: its address and port, every
// default, the settings it inherits, its fallback and its real servers. It
// returns nil when the block has errors (reported).
func (p *parser) finishVirtual(vd *vdraft) *Virtual {
	before := len(p.errs)
	v := vd.v
	v.Line, v.IPv6 = vd.line, vd.ipv6
	dir := virtualDirective(vd.ipv6)
	switch {
	case vd.bad:
	case vd.fwmark != 0:
		v.FWMark, v.Protocol = vd.fwmark, FWM
	default:
		port, msg := p.resolvePort(vd.port, string(v.Protocol))
		if msg != "" {
			p.errorf(vd.line, dir, "%s %s", strconv.Quote(vd.host.String()+":"+vd.port), msg)
			break
		}
		v.Port = port
		if v.Protocol == "" {
			v.Protocol = TCP
			if port == 53 {
				v.Protocol = UDP
			}
		}
	}
	v.ID = virtualID(&v)

	p.checkDefaults(vd, &v)
	if v.Scheduler == "" {
		v.Scheduler = "wrr"
	}
	if !vd.has("netmask") {
		v.NetmaskBits = 32
		if v.IPv6 {
			v.NetmaskBits = 128
		}
	}
	if v.OPS && v.Protocol != UDP && !vd.bad {
		p.errorf(vd.set["ops"], "ops", "%s is only for UDP virtual services; this one is %s", strconv.Quote("yes"), v.Protocol)
	}
	if len(v.SchedFlags) == 0 {
		v.SchedFlags = nil
	}
	v.Settings = p.inherit(vd, &v)
	if !vd.bad {
		p.checkExtensions(&vd.draft, &v.Settings, vd, &v)
	}
	p.resolveReals(vd, &v)
	if vd.bad || len(p.errs) > before {
		return nil
	}
	return &v
}

// virtualID names the kernel service: protocol and address:port, or the
// firewall mark and family, as ldirectord's get_virtual_id_str does.
func virtualID(v *Virtual) VirtualID {
	if v.FWMark != 0 {
		if v.IPv6 {
			return VirtualID(fmt.Sprintf("fwm6:%d", v.FWMark))
		}
		return VirtualID(fmt.Sprintf("fwm:%d", v.FWMark))
	}
	return VirtualID(string(v.Protocol) + ":" + addrPort(v.Addr, v.Port))
}

// checkDefaults fills the check settings the block left out.
func (p *parser) checkDefaults(vd *vdraft, v *Virtual) {
	c := &v.Check
	if c.Type == "" {
		c.Type = CheckNegotiate
	}
	if c.Service == "" {
		c.Service = ServiceNone
		if v.FWMark == 0 {
			c.Service = ServiceForPort(v.Port)
		}
	}
	if c.Command == "" {
		c.Command = "/bin/true"
	}
	if c.HTTPMethod == "" {
		c.HTTPMethod = "GET"
	}
	if vd.has("request") {
		c.Request = normalizeRequest(c.Service, c.Request)
	} else {
		c.Request = defaultRequest(c.Service)
	}
	// ldirectord sets these only when "service = ftp|sip" is written, not
	// when the service comes from the port; the page makes them the
	// defaults of the service, so they are here in both cases.
	switch c.Service {
	case ServiceFTP:
		if c.Login == "" {
			c.Login = "anonymous"
		}
		if c.Passwd == "" {
			c.Passwd = "ldirectord@" + p.hostname
		}
		// ldirectord fetches "/" then, which no FTP server serves as a
		// file: accepted, as Perl does, but never up.
		if negotiates(c.Type) && !vd.has("request") && !everyRealHasRequest(vd) {
			p.warnf(vd.line, virtualDirective(vd.ipv6), "checks ftp with negotiate, which fetches the file named by request; without one every check fails")
		}
	case ServiceSIP:
		if c.Login == "" {
			c.Login = "ldirectord@" + p.hostname
		}
	case ServiceHTTPProxy:
		if negotiates(c.Type) {
			p.proxyRequests(vd, c)
		}
	case ServiceMySQL, ServicePgSQL, ServiceOracle:
		if negotiates(c.Type) {
			if c.Login == "" || c.Database == "" || !vd.has("request") {
				p.warnf(vd.line, virtualDirective(vd.ipv6), "checks %s with negotiate, which needs login, database and request; without them every check fails", c.Service)
			}
		}
	}
}

// proxyRequests refuses an http_proxy check that can never pass: one whose
// request, the block's or a real's own, is not an absolute URL for the
// proxy to fetch. ldirectord accepts these and marks every real down. A
// block without any request only has a warning.
func (p *parser) proxyRequests(vd *vdraft, c *Check) {
	const want = "is not an absolute URL: http_proxy fetches a page through the real server, such as http://www.example.com/health"
	if vd.has("request") {
		if !absoluteURL(c.Request) {
			p.bad(srcLine{num: vd.set["request"], name: "request"}, c.Request, want)
		}
	} else if !everyRealHasRequest(vd) {
		// Often the service comes from port 3128 alone, and Perl starts
		// such a block: say it, but serve it.
		p.warnf(vd.line, virtualDirective(vd.ipv6), "checks http_proxy with negotiate, which fetches the absolute URL in request; without one every check fails")
	}
	for _, rs := range vd.reals {
		if rs.hasPair && !absoluteURL(rs.request) {
			p.bad(srcLine{num: rs.line, name: rs.directive}, rs.request, want)
		}
	}
}

// absoluteURL reports whether req, without the '/' ldirectord may put
// before it, is an http or https URL with a host.
func absoluteURL(req string) bool {
	u, err := url.Parse(strings.TrimPrefix(req, "/"))
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")
}

// negotiates reports whether a check of type t ever speaks the service.
func negotiates(t CheckType) bool { return t == CheckNegotiate || t == CheckCombined }

// everyRealHasRequest reports whether each real line of the block brings
// its own request, so that the block needs none.
func everyRealHasRequest(vd *vdraft) bool {
	for _, rs := range vd.reals {
		if !rs.hasPair {
			return false
		}
	}
	return len(vd.reals) > 0
}

// defaultRequest is the request of a check when the block sets none.
func defaultRequest(service string) string {
	if service == ServiceHTTP || service == ServiceHTTPS {
		return "/"
	}
	return ""
}

// normalizeRequest gives an HTTP request its leading '/' as ldirectord does,
// unless it is an absolute URL.
func normalizeRequest(service, req string) string {
	if service != ServiceHTTP && service != ServiceHTTPS {
		return req
	}
	if strings.HasPrefix(req, "/") || strings.Contains(req, "://") {
		return req
	}
	return "/" + req
}

// settingCopies copy one Settings field each, keyed by its directive; the
// timeouts, checkinterval and fallbacks have rules of their own.
var settingCopies = map[string]func(dst, src *Settings){
	"checkcount":       func(d, s *Settings) { d.CheckCount = s.CheckCount },
	"failurecount":     func(d, s *Settings) { d.FailureCount = s.FailureCount },
	"quiescent":        func(d, s *Settings) { d.Quiescent = s.Quiescent },
	"readdquiescent":   func(d, s *Settings) { d.ReaddQuiescent = s.ReaddQuiescent },
	"cleanstop":        func(d, s *Settings) { d.Cleanstop = s.Cleanstop },
	"fallbackcommand":  func(d, s *Settings) { d.FallbackCommand = s.FallbackCommand },
	"emailalert":       func(d, s *Settings) { d.EmailAlert = s.EmailAlert },
	"emailalertfrom":   func(d, s *Settings) { d.EmailAlertFrom = s.EmailAlertFrom },
	"emailalertfreq":   func(d, s *Settings) { d.EmailAlertFreq = s.EmailAlertFreq },
	"emailalertstatus": func(d, s *Settings) { d.EmailAlertStatus = s.EmailAlertStatus },
	"smtp":             func(d, s *Settings) { d.SMTP = s.SMTP },
	"rise":             func(d, s *Settings) { d.Rise = s.Rise },
	"slowstart":        func(d, s *Settings) { d.SlowStart = s.SlowStart },
	"failopen":         func(d, s *Settings) { d.FailOpen, d.FailOpenHold = s.FailOpen, s.FailOpenHold },
	"flapdamping":      func(d, s *Settings) { d.FlapCount, d.FlapWindow = s.FlapCount, s.FlapWindow },
	"checkjitter":      func(d, s *Settings) { d.CheckJitter = s.CheckJitter },
}

// inherit gives a virtual its effective settings: its own where it sets
// them, the global ones elsewhere.
func (p *parser) inherit(vd *vdraft, v *Virtual) Settings {
	g := p.g.Defaults
	s := g
	own := &vd.draft.s
	for name, cp := range settingCopies {
		if vd.has(name) {
			cp(&s, own)
		}
	}
	s.EmailAlert = slices.Clone(s.EmailAlert)
	s.EmailAlertStatus = slices.Clone(s.EmailAlertStatus)

	// checktimeout and negotiatetimeout stand in for each other, the
	// block's before the global ones (ldirectord's ld_setup).
	switch {
	case vd.has("checktimeout"):
		s.CheckTimeout = own.CheckTimeout
	case vd.has("negotiatetimeout"):
		s.CheckTimeout = own.NegotiateTimeout
	}
	switch {
	case vd.has("negotiatetimeout"):
		s.NegotiateTimeout = own.NegotiateTimeout
	case vd.has("checktimeout"):
		s.NegotiateTimeout = own.CheckTimeout
	}

	// A block's checkinterval always counts. The Perl ldirectord honours it
	// only with fork = yes, where each virtual has a process of its own;
	// here every real server is checked on its own timer whatever fork
	// says, so there is no single loop whose pace would override it.
	if vd.has("checkinterval") {
		s.CheckInterval = own.CheckInterval
	}

	// Only the fallback of the virtual's family applies; its port defaults
	// to the virtual's.
	s.Fallback, s.Fallback6 = nil, nil
	fam := 0
	if v.IPv6 {
		fam = 1
	}
	var fb *Real
	if fs := vd.fallback[fam]; fs != nil {
		fb = p.resolveFallback(fs, v.IPv6, string(v.Protocol), v.Port)
	} else if gf := []*Real{g.Fallback, g.Fallback6}[fam]; gf != nil {
		c := *gf
		if c.Port == 0 {
			c.Port = v.Port
			c.ID = RealID(addrPort(c.Addr, c.Port))
		}
		fb = &c
	}
	if v.IPv6 {
		s.Fallback6 = fb
	} else {
		s.Fallback = fb
	}
	return s
}

// Fallback is the fallback server of v, of its family, or nil.
func (v *Virtual) Fallback() *Real {
	if v.IPv6 {
		return v.Settings.Fallback6
	}
	return v.Settings.Fallback
}

// CheckPort is the port a check of r connects to: checkport when set, else
// the real server's port, else the standard port of the service (a real of a
// firewall-mark service often has port 0), as ldirectord's ld_checkport.
func (v *Virtual) CheckPort(r *Real) uint16 {
	switch {
	case v.Check.Port != 0:
		return v.Check.Port
	case r.Port != 0:
		return r.Port
	}
	return ServicePort(v.Check.Service)
}
