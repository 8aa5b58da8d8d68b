package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// checkLDAP judges an LDAP server (service ldap) as ldirectord does: bind
// with login and passwd when both are set, anonymously otherwise; read the
// entry named by the request (base scope, any object class); the server is
// alive when exactly one entry comes back and, if receive is set, its DN
// matches receive.
func checkLDAP(ctx context.Context, t Target) Result { return ldapCheck(ctx, t, false) }

// checkLDAPS is checkLDAP over TLS from the first byte (service ldaps).
func checkLDAPS(ctx context.Context, t Target) Result { return ldapCheck(ctx, t, true) }

func ldapCheck(ctx context.Context, t Target, useTLS bool) (r Result) {
	defer recoverDriver("LDAP", &r)
	var receive *regexp.Regexp
	if t.Check.Receive != "" {
		re, err := regexp.Compile(t.Check.Receive)
		if err != nil {
			return down(fmt.Sprintf("receive %q is not a regexp Go understands: %v", t.Check.Receive, err))
		}
		receive = re
	}
	conn, err := dial(ctx, "tcp", hostPort(t))
	if err != nil {
		return stepFailure(ctx, t, "connecting", "connect", err)
	}
	if useTLS {
		// Real servers are addressed by IP; like ldirectord, the check asks
		// whether the directory answers, not who it is.
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return stepFailure(ctx, t, "during TLS handshake", "TLS handshake", err)
		}
		conn = tc
	}
	l := ldap.NewConn(limit(conn, maxRead), useTLS)
	l.Start()
	defer l.Close()
	if dl, ok := ctx.Deadline(); ok {
		l.SetTimeout(time.Until(dl))
	}
	if t.Check.Login != "" && t.Check.Passwd != "" {
		err = l.Bind(t.Check.Login, t.Check.Passwd)
	} else {
		err = l.UnauthenticatedBind("")
	}
	if err != nil {
		return down("bind failed: " + ldapReason(ctx, t, "waiting for the bind answer", err))
	}
	base := strings.TrimPrefix(t.Check.Request, "/")
	res, err := l.Search(&ldap.SearchRequest{
		BaseDN:     base,
		Scope:      ldap.ScopeBaseObject,
		Filter:     "(objectClass=*)",
		Attributes: []string{"1.1"}, // the DN is all the check reads
		SizeLimit:  2,
	})
	if err != nil {
		return down(fmt.Sprintf("search of %q failed: %s", base, ldapReason(ctx, t, "waiting for the search answer", err)))
	}
	if n := len(res.Entries); n != 1 {
		return down(fmt.Sprintf("search of %q returned %d entries, want 1", base, n))
	}
	dn := res.Entries[0].DN
	if receive != nil && !receive.MatchString(dn) {
		return down(fmt.Sprintf("receive %q does not match DN %q", t.Check.Receive, dn))
	}
	return up(fmt.Sprintf("found %q", dn))
}

// ldapReason shortens an LDAP error: the result code's name and the
// server's diagnostic, or the network cause.
func ldapReason(ctx context.Context, t Target, doing string, err error) string {
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork && le.ResultCode < ldap.ErrorNetwork {
		text := ldap.LDAPResultCodeMap[le.ResultCode]
		if le.Err != nil && le.Err.Error() != "" {
			return fmt.Sprintf("%s (%d): %s", text, le.ResultCode, le.Err)
		}
		return fmt.Sprintf("%s (%d)", text, le.ResultCode)
	}
	// The library flattens network errors into text, and its own timer
	// may fire a moment before the context's: look at both.
	dl, hasDeadline := ctx.Deadline()
	if isTimeout(ctx, err) || strings.Contains(err.Error(), "timed out") ||
		strings.Contains(err.Error(), "i/o timeout") || (hasDeadline && !time.Now().Before(dl)) {
		return fmt.Sprintf("timeout after %s %s", t.Timeout, doing)
	}
	if errors.As(err, &le) && le.Err != nil {
		return short(le.Err)
	}
	return short(err)
}
