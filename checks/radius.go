package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// checkRADIUS judges a RADIUS server as ldirectord does with
// Authen::Radius: send an Access-Request with login as User-Name and
// passwd as User-Password, protected by secret, and call the server alive
// when it answers Access-Accept, authenticated by the same secret. An
// Access-Reject is down, as in ldirectord (check_pwd is false for it).
// RADIUS runs over UDP whatever the virtual service's protocol.
func checkRADIUS(ctx context.Context, t Target) (r Result) {
	defer recoverDriver("RADIUS", &r)
	if t.Check.Secret == "" {
		// No RADIUS server answers a request without a shared secret.
		return down("radius check needs a secret")
	}
	p := radius.New(radius.CodeAccessRequest, []byte(t.Check.Secret))
	if err := rfc2865.UserName_SetString(p, t.Check.Login); err != nil {
		return down("login cannot be sent as User-Name: " + err.Error())
	}
	if err := rfc2865.UserPassword_SetString(p, t.Check.Passwd); err != nil {
		// The error names only the attribute, never its value.
		return down("passwd cannot be sent as User-Password (at most 128 bytes)")
	}
	// Authen::Radius sends its socket's own address as NAS-IP-Address.
	// Connecting a UDP socket sends nothing; it only picks that address.
	if c, err := net.Dial("udp", hostPort(t)); err == nil {
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
			rfc2865.NASIPAddress_Set(p, a.IP.To4())
		}
		c.Close()
	}
	client := &radius.Client{
		// Resend every second, as a lost datagram says nothing about the
		// server; give up at the first answer the secret does not
		// authenticate, since the server will only send it again.
		Retry:           time.Second,
		MaxPacketErrors: 1,
	}
	resp, err := client.Exchange(ctx, p, hostPort(t))
	if err != nil {
		noteShortage(ctx, err)
		var nae *radius.NonAuthenticResponseError
		switch {
		case errors.As(err, &nae):
			return down("answer not authenticated by the secret (wrong secret?)")
		case isTimeout(ctx, err):
			return down(fmt.Sprintf("timeout after %s waiting for an answer (unknown client or wrong secret?)", t.Timeout))
		}
		return down("no RADIUS answer: " + short(err))
	}
	switch resp.Code {
	case radius.CodeAccessAccept:
		return up(fmt.Sprintf("Access-Accept for %q", t.Check.Login))
	}
	return down(fmt.Sprintf("login failed: %v for %q", resp.Code, t.Check.Login))
}
