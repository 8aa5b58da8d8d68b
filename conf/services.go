package conf

import "strings"

// The negotiate services of ldirectord(8), the values of service =. Every
// other package spells them through these names, so that a service known
// here and one checked elsewhere cannot drift apart.
const (
	ServiceDNS        = "dns"
	ServiceFTP        = "ftp"
	ServiceHTTP       = "http"
	ServiceHTTPS      = "https"
	ServiceHTTPProxy  = "http_proxy"
	ServiceIMAP       = "imap"
	ServiceIMAPS      = "imaps"
	ServiceLDAP       = "ldap"
	ServiceLDAPS      = "ldaps"
	ServiceMySQL      = "mysql"
	ServiceNNTP       = "nntp"
	ServiceNone       = "none"
	ServiceOracle     = "oracle"
	ServicePgSQL      = "pgsql"
	ServicePOP        = "pop"
	ServicePOPS       = "pops"
	ServiceRADIUS     = "radius"
	ServiceSimpleTCP  = "simpletcp"
	ServiceSIP        = "sip"
	ServiceSMTP       = "smtp"
	ServiceSubmission = "submission"
)

// serviceTable is every service with its standard port, both ways round:
// a virtual on one of these ports checks that service by default, and a
// check with no port of its own goes there. None and simpletcp have no
// port (0). The order is the page's, which error messages keep.
var serviceTable = []struct {
	name string
	port uint16
}{
	{ServiceDNS, 53}, {ServiceFTP, 21}, {ServiceHTTP, 80}, {ServiceHTTPS, 443},
	{ServiceHTTPProxy, 3128}, {ServiceIMAP, 143}, {ServiceIMAPS, 993},
	{ServiceLDAP, 389}, {ServiceLDAPS, 636}, {ServiceMySQL, 3306},
	{ServiceNNTP, 119}, {ServiceNone, 0}, {ServiceOracle, 1521},
	{ServicePgSQL, 5432}, {ServicePOP, 110}, {ServicePOPS, 995},
	{ServiceRADIUS, 1812}, {ServiceSimpleTCP, 0}, {ServiceSIP, 5060},
	{ServiceSMTP, 25}, {ServiceSubmission, 587},
}

// Services lists every service of ldirectord(8) in the order of its page.
func Services() []string {
	names := make([]string, len(serviceTable))
	for i, s := range serviceTable {
		names[i] = s.name
	}
	return names
}

// IsService reports whether name is a value service = accepts.
func IsService(name string) bool {
	for _, s := range serviceTable {
		if s.name == name {
			return true
		}
	}
	return false
}

// ServiceForPort is the default service of a virtual on port: "http" for
// 80 and so on, "none" for a port the page does not list.
func ServiceForPort(port uint16) string {
	for _, s := range serviceTable {
		if s.port != 0 && s.port == port {
			return s.name
		}
	}
	return ServiceNone
}

// ServicePort is the standard port of a service, 0 for none.
func ServicePort(service string) uint16 {
	for _, s := range serviceTable {
		if s.name == service {
			return s.port
		}
	}
	return 0
}

// serviceList names the services in an error message: "dns, ftp, ... or
// submission".
func serviceList() string {
	names := Services()
	last := len(names) - 1
	return strings.Join(names[:last], ", ") + " or " + names[last]
}
