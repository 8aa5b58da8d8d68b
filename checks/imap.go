package checks

// The IMAP check is hand-written: it needs the greeting and, with a login,
// one LOGIN command, which is less code than adapting an IMAP client
// library and keeps every read bounded.

import (
	"context"
	"fmt"
	"strings"
)

// checkIMAP judges an IMAP server (service imap) as ldirectord does: the
// greeting must be * OK (or * PREAUTH), and when a login is configured,
// LOGIN with it and the passwd must be answered OK.
func checkIMAP(ctx context.Context, t Target) Result { return imapCheck(ctx, t, false) }

// checkIMAPS is checkIMAP over TLS from the first byte (service imaps).
func checkIMAPS(ctx context.Context, t Target) Result { return imapCheck(ctx, t, true) }

func imapCheck(ctx context.Context, t Target, useTLS bool) Result {
	c, err := dialText(ctx, t, useTLS)
	if err != nil {
		return down(err.Error())
	}
	defer c.Close()
	line, err := c.readLine(ctx, t, "banner")
	if err != nil {
		return down(err.Error())
	}
	status, text, err := parseIMAPGreeting(line)
	if err != nil {
		return down(err.Error())
	}
	if status != "OK" && status != "PREAUTH" {
		return down(fmt.Sprintf("IMAP greeting %s %s", status, quote([]byte(text))))
	}
	login := t.Check.Login
	if login == "" {
		c.writeLine(ctx, t, "a2 LOGOUT")
		return up(fmt.Sprintf("IMAP greeting %s %s", status, quote([]byte(text))))
	}
	user, err1 := imapQuote(login)
	pass, err2 := imapQuote(t.Check.Passwd)
	if err1 != nil || err2 != nil {
		return down("login failed: login or passwd cannot be sent as an IMAP string (line break or NUL)")
	}
	if err := c.writeLine(ctx, t, "a1 LOGIN "+user+" "+pass); err != nil {
		return down(err.Error())
	}
	for {
		line, err := c.readLine(ctx, t, "LOGIN answer")
		if err != nil {
			return down(err.Error())
		}
		status, text, tagged, err := parseIMAPReply(line, "a1")
		if err != nil {
			return down("LOGIN answer: " + err.Error())
		}
		if !tagged {
			if status == "BYE" {
				return down("login failed: server said BYE " + quote([]byte(text)))
			}
			continue // untagged data such as CAPABILITY
		}
		if status != "OK" {
			return down(fmt.Sprintf("login failed: %s %s", status, quote([]byte(text))))
		}
		c.writeLine(ctx, t, "a2 LOGOUT")
		return up(fmt.Sprintf("IMAP login as %q accepted", login))
	}
}

// parseIMAPGreeting splits the server greeting "* OK text" into its status
// (OK, PREAUTH or BYE) and text.
func parseIMAPGreeting(line string) (status, text string, err error) {
	status, text, tagged, err := parseIMAPReply(line, "")
	if err != nil {
		return "", "", fmt.Errorf("IMAP greeting: %w", err)
	}
	if tagged || (status != "OK" && status != "PREAUTH" && status != "BYE") {
		return "", "", fmt.Errorf("IMAP greeting is not * OK, * PREAUTH or * BYE: %s", quote([]byte(line)))
	}
	return status, text, nil
}

// parseIMAPReply splits a response line into its first word after the tag
// (a status such as OK, NO, BAD, BYE, or a data name such as CAPABILITY),
// the rest, and whether it carried tag rather than the untagged "*".
// Continuation requests ("+ ...") and lines with other tags are errors: a
// check sends one command at a time and never a literal.
func parseIMAPReply(line, tag string) (status, text string, tagged bool, err error) {
	head, rest, _ := strings.Cut(line, " ")
	switch {
	case head == "*":
	case tag != "" && head == tag:
		tagged = true
	default:
		return "", "", false, fmt.Errorf("not an IMAP response: %s", quote([]byte(line)))
	}
	status, text, _ = strings.Cut(rest, " ")
	if status == "" {
		return "", "", false, fmt.Errorf("IMAP response without status: %s", quote([]byte(line)))
	}
	status = strings.ToUpper(status)
	if tagged && status != "OK" && status != "NO" && status != "BAD" {
		return "", "", false, fmt.Errorf("tagged IMAP response is not OK, NO or BAD: %s", quote([]byte(line)))
	}
	return status, text, tagged, nil
}

// imapQuote writes s as an IMAP quoted string.
func imapQuote(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", fmt.Errorf("IMAP quoted strings cannot hold CR, LF or NUL")
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`, nil
}
