package metrics

import "strings"

// The reason classes a check's result is counted by. The reason itself is
// free text with addresses and server replies in it, which would make a
// label without bound; a class is enough to tell a dead host from a
// misconfigured check on a dashboard, and the log keeps the words.
const (
	ReasonNone        = "none" // the check passed
	ReasonTimeout     = "timeout"
	ReasonRefused     = "refused"
	ReasonReset       = "reset" // the connection was reset or closed early
	ReasonUnreachable = "unreachable"
	ReasonTLS         = "tls"
	ReasonDNS         = "dns"      // a name did not resolve
	ReasonMismatch    = "mismatch" // an answer came, receive did not match it
	ReasonProtocol    = "protocol" // an answer came that the service does not give when well
	ReasonConfig      = "config"   // the check cannot pass as configured
	ReasonOther       = "other"
)

// reasonRules are tried in order: the first substring found in the reason,
// lowercased, gives its class. Timeouts come first, since a timeout's
// reason names what the check was waiting for ("timeout after 5s waiting
// for the TLS handshake"), and configuration errors before the mismatches
// they would look like ("receive ... is not a valid regexp").
var reasonRules = []struct {
	class string
	words []string
}{
	{ReasonTimeout, []string{"timeout", "timed out", "deadline exceeded", "i/o timeout"}},
	{ReasonConfig, []string{"not a valid regexp", "not a regexp", "no checkcommand", "unknown service", "unknown checktype",
		"needs a secret", "settings", "no request names", "is not an absolute url", "cannot be sent as", "has no connector"}},
	{ReasonRefused, []string{"connection refused"}},
	{ReasonReset, []string{"connection reset", "broken pipe", "eof", "closed the connection", "connection closed"}},
	{ReasonUnreachable, []string{"no route to host", "network is unreachable", "host is down", "unreachable", "echo reply"}},
	{ReasonTLS, []string{"tls", "x509", "certificate", "handshake"}},
	{ReasonDNS, []string{"no such host", "lookup ", "server misbehaving"}},
	{ReasonMismatch, []string{"does not match", "not found in", "returned no rows", "no rows", "want 1", "no answer"}},
	// An external check's command said no: what it checks is its own.
	{ReasonOther, []string{"exit status"}},
	{ReasonProtocol, []string{"login failed", "greeting", "banner", "answer", "reply", "status", "not ftp", "not a ", "http", "bye", "-err", "servfail", "nxdomain", "refused"}},
}

// ReasonClass is the class of a check's result: ReasonNone when it passed,
// else the class its reason falls in, ReasonOther when none fits.
func ReasonClass(up bool, reason string) string {
	if up {
		return ReasonNone
	}
	r := strings.ToLower(reason)
	for _, rule := range reasonRules {
		for _, w := range rule.words {
			if strings.Contains(r, w) {
				return rule.class
			}
		}
	}
	return ReasonOther
}
