package metrics

import "testing"

// TestReasonClass: the reasons the checks give, as they give them, fall in
// the classes an operator would put them in.
func TestReasonClass(t *testing.T) {
	cases := []struct {
		up     bool
		reason string
		want   string
	}{
		{true, "HTTP 200 OK", ReasonNone},
		{true, "checktype on", ReasonNone},
		{false, "timeout after 5s waiting for HTTP response", ReasonTimeout},
		{false, "timeout after 1.5s during TLS handshake", ReasonTimeout},
		{false, "timeout after 2s waiting for DNS answer to A www.example.test.", ReasonTimeout},
		{false, "connect: connection refused", ReasonRefused},
		{false, "read: connection reset by peer", ReasonReset},
		{false, "connection closed by server", ReasonReset},
		{false, "connection closed waiting for banner", ReasonReset},
		{false, "connect: no route to host", ReasonUnreachable},
		{false, "ping: no echo reply within 1s (2 of 2 tries)", ReasonUnreachable},
		{false, "TLS handshake: remote error: tls: handshake failure", ReasonTLS},
		{false, "tls: failed to verify certificate: x509: certificate signed by unknown authority", ReasonTLS},
		{false, `request "http://nowhere.invalid/": lookup nowhere.invalid: no such host`, ReasonDNS},
		{false, "receive /ok/ not found in 12 bytes of HTTP 200 OK body", ReasonMismatch},
		{false, "A www.example.test.: answer 10.0.0.9 does not match receive /10.0.0.1/", ReasonMismatch},
		{false, "query returned no rows", ReasonMismatch},
		{false, "HTTP 503 Service Unavailable", ReasonProtocol},
		{false, "login failed: 530 Login incorrect", ReasonProtocol},
		{false, `IMAP greeting * BYE "go away"`, ReasonProtocol},
		{false, `receive "(" is not a valid regexp: missing closing )`, ReasonConfig},
		{false, "no checkcommand configured", ReasonConfig},
		{false, "radius check needs a secret", ReasonConfig},
		{false, "/usr/local/bin/check.sh: exit status 1", ReasonOther},
		{false, "checktype off", ReasonOther},
		{false, "", ReasonOther},
	}
	for _, tc := range cases {
		if got := ReasonClass(tc.up, tc.reason); got != tc.want {
			t.Errorf("ReasonClass(%v, %q) = %s, want %s", tc.up, tc.reason, got, tc.want)
		}
	}
}
