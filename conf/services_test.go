package conf

import (
	"strings"
	"testing"
)

// TestServices: every service of the page is accepted by service = and
// its standard port leads back to it; a word that is not a service is
// refused.
func TestServices(t *testing.T) {
	want := "dns ftp http https http_proxy imap imaps ldap ldaps mysql nntp none oracle pgsql pop pops radius simpletcp sip smtp submission"
	if got := strings.Join(Services(), " "); got != want {
		t.Fatalf("Services() = %s\nwant        %s", got, want)
	}
	for _, s := range Services() {
		cfg := mustParse(t, "virtual = 10.0.0.1:8080\n\treal = 10.0.0.2 gate\n\tservice = "+s+"\n")
		if got := cfg.Virtuals[0].Check.Service; got != s {
			t.Errorf("service = %s: got %q", s, got)
		}
		port := ServicePort(s)
		switch {
		case s == ServiceNone || s == ServiceSimpleTCP:
			if port != 0 {
				t.Errorf("ServicePort(%q) = %d, want 0", s, port)
			}
		case ServiceForPort(port) != s:
			t.Errorf("ServiceForPort(ServicePort(%q) = %d) = %q", s, port, ServiceForPort(port))
		}
	}
	if ServiceForPort(0) != ServiceNone {
		t.Errorf("ServiceForPort(0) = %q, want none", ServiceForPort(0))
	}
	for _, s := range []string{"", "HTTP", "gopher", "http "} {
		if IsService(s) {
			t.Errorf("IsService(%q) = true", s)
		}
	}
}
