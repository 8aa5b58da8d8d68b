package checks

import (
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// A refused connection reads the same whatever the service, so that an
// operator (and a grep of the log) sees one cause in one wording.
func TestRefusedReadsTheSame(t *testing.T) {
	t.Parallel()
	gone := refused(t, "tcp4")
	for _, service := range Services() {
		tg := negotiate(gone, service, "/", "")
		switch service {
		case conf.ServiceRADIUS, conf.ServiceNone:
			continue // UDP, and no check at all
		case conf.ServiceSIP, conf.ServiceDNS:
			tg.Protocol = conf.TCP
		case conf.ServiceHTTPProxy:
			tg.Check.Request = "http://www.example.com/"
		case conf.ServiceMySQL, conf.ServicePgSQL, conf.ServiceOracle:
			tg.Check.Request = "SELECT 1"
		}
		tg.Check.Login, tg.Check.Passwd, tg.Check.Database = "u", "p", "d"
		t.Run(service, func(t *testing.T) {
			t.Parallel()
			r := runCheck(Run, tg)
			// dns names its question first: "A name.: connect: ...".
			if r.Up || !strings.HasSuffix(r.Reason, ": connection refused") || strings.Count(r.Reason, "connect:") != 1 || strings.Contains(r.Reason, "dial") {
				t.Errorf("up=%v, reason %q: want down, and the reason to end in \"connect: connection refused\" as every service's does", r.Up, r.Reason)
			}
		})
	}
}
