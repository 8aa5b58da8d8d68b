package checks

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// services maps each negotiate service of ldirectord(8) to its check. It is
// the whole registry: a new service is one more line here.
var services = map[string]Func{
	"dns":        checkDNS,
	"ftp":        checkFTP,
	"http":       checkHTTP,
	"http_proxy": checkHTTPProxy,
	"https":      checkHTTPS,
	"imap":       checkIMAP,
	"imaps":      checkIMAPS,
	"ldap":       checkLDAP,
	"ldaps":      checkLDAPS,
	"mysql":      checkMySQL,
	"nntp":       checkNNTP,
	"none":       checkNone,
	"oracle":     checkOracle,
	"pgsql":      checkPgSQL,
	"pop":        checkPOP,
	"pops":       checkPOPS,
	"radius":     checkRADIUS,
	"simpletcp":  checkSimpleTCP,
	"sip":        checkSIP,
	"smtp":       checkSMTP,
	"submission": checkSMTP,
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
// its own is treated as negotiate. Run never outlives the context's
// deadline, or t.Timeout from now when the context has none.
func Run(ctx context.Context, t Target) Result {
	start := time.Now()
	if _, ok := ctx.Deadline(); !ok && t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	if dl, ok := ctx.Deadline(); ok && t.Timeout <= 0 {
		t.Timeout = time.Until(dl).Round(time.Millisecond)
	}
	r := dispatch(ctx, t)
	r.Duration = time.Since(start)
	return r
}

func dispatch(ctx context.Context, t Target) Result {
	service := t.Check.Service
	if service == "" {
		service = "none"
	}
	if t.Port == 0 {
		// Neither checkport nor the real server names a port: ldirectord
		// then checks the service's well-known one.
		t.Port = defaultPorts[service]
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
	case conf.CheckOn:
		return up("checktype on: not checked")
	case conf.CheckOff:
		return down("checktype off: not checked")
	}
	return down(fmt.Sprintf("unknown checktype %q", t.Check.Type))
}

// defaultPorts are the well-known ports ldirectord checks when neither the
// real server nor checkport names one.
var defaultPorts = map[string]uint16{
	"ftp": 21, "smtp": 25, "dns": 53, "http": 80, "pop": 110, "nntp": 119,
	"imap": 143, "ldap": 389, "https": 443, "submission": 587, "ldaps": 636,
	"imaps": 993, "pops": 995, "oracle": 1521, "radius": 1812,
	"http_proxy": 3128, "mysql": 3306, "pgsql": 5432, "sip": 5060,
}
