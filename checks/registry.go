package checks

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// services maps each negotiate service of ldirectord(8), as conf names it,
// to its check. It is the whole registry: a new service is one more name
// in conf and one more line here.
var services = map[string]Func{
	conf.ServiceDNS:        checkDNS,
	conf.ServiceFTP:        checkFTP,
	conf.ServiceHTTP:       checkHTTP,
	conf.ServiceHTTPProxy:  checkHTTPProxy,
	conf.ServiceHTTPS:      checkHTTPS,
	conf.ServiceIMAP:       checkIMAP,
	conf.ServiceIMAPS:      checkIMAPS,
	conf.ServiceLDAP:       checkLDAP,
	conf.ServiceLDAPS:      checkLDAPS,
	conf.ServiceMySQL:      checkMySQL,
	conf.ServiceNNTP:       checkNNTP,
	conf.ServiceNone:       checkNone,
	conf.ServiceOracle:     checkOracle,
	conf.ServicePgSQL:      checkPgSQL,
	conf.ServicePOP:        checkPOP,
	conf.ServicePOPS:       checkPOPS,
	conf.ServiceRADIUS:     checkRADIUS,
	conf.ServiceSimpleTCP:  checkSimpleTCP,
	conf.ServiceSIP:        checkSIP,
	conf.ServiceSMTP:       checkSMTP,
	conf.ServiceSubmission: checkSMTP,
}

// Services lists the negotiate services known to Run, sorted.
func Services() []string {
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Run judges one real server once by t.Check.Type and, for negotiate
// checks, t.Check.Service. For checktype = N the caller alternates: it
// passes Type connect N times, then negotiate once; a Type of combined on
// its own is treated as negotiate. Checktypes on and off are not checks:
// the caller decides those without calling Run. Run never outlives the
// context's deadline, or t.Timeout from now when the context has none.
// The Result's Duration is left to the caller, which times the call. A
// down Result is marked DirectorFault when the check failed for want of
// the director's own resources. The reason never shows the passwd or the
// secret, even when a server echoes them.
func Run(ctx context.Context, t Target) Result {
	if _, ok := ctx.Deadline(); !ok && t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	if dl, ok := ctx.Deadline(); ok && t.Timeout <= 0 {
		t.Timeout = time.Until(dl).Round(time.Millisecond)
	}
	ctx, note := noting(ctx)
	r := judged(dispatch(ctx, t), note)
	r.Reason = redact(r.Reason, t.Check.Passwd, t.Check.Secret)
	return r
}

func dispatch(ctx context.Context, t Target) Result {
	service := t.Check.Service
	if service == "" {
		service = conf.ServiceNone
	}
	if t.Port == 0 {
		// Neither checkport nor the real server names a port: ldirectord
		// then checks the service's well-known one.
		t.Port = conf.ServicePort(service)
	}
	switch t.Check.Type {
	case conf.CheckConnect:
		return checkConnect(ctx, t)
	case conf.CheckNegotiate, conf.CheckCombined, "":
		f, ok := services[service]
		if !ok {
			return down(fmt.Sprintf("unknown service %q, expected one of %v", service, Services()))
		}
		return f(ctx, t)
	case conf.CheckPing:
		return checkPing(ctx, t)
	case conf.CheckExternal:
		return checkExternal(ctx, t)
	case conf.CheckExternalPerl:
		return checkExternalPerl(ctx, t)
	}
	return down(fmt.Sprintf("unknown checktype %q", t.Check.Type))
}

// Describe says what a check of t does and where it goes, as an operator
// reads it: "negotiate http port 80", "connect port 22", "ping". A check
// that goes elsewhere than the real server (an http or https request that
// is a full URL) names that host and port instead; a connect check of a
// UDP service, which pings, says ping.
func Describe(t Target) string {
	service := t.Check.Service
	if service == "" {
		service = conf.ServiceNone
	}
	if t.Port == 0 {
		t.Port = conf.ServicePort(service)
	}
	where := "port " + strconv.Itoa(int(t.Port))
	switch t.Check.Type {
	case conf.CheckPing:
		return "ping"
	case conf.CheckConnect:
		if t.Protocol == conf.UDP {
			return "ping"
		}
		return "connect " + where
	case conf.CheckNegotiate, conf.CheckCombined, "":
		if service == conf.ServiceHTTP || service == conf.ServiceHTTPS {
			if u, full := httpURL(t, service); full {
				where = urlHostPort(u, service)
			}
		}
		return "negotiate " + service + " " + where
	}
	return string(t.Check.Type) + " " + where
}

// urlHostPort is the host and port a URL is fetched from, the scheme's
// port when it names none.
func urlHostPort(raw, scheme string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(int(conf.ServicePort(scheme)))
	}
	return net.JoinHostPort(u.Hostname(), port)
}
