package checks

// The POP3 check is hand-written: it needs the greeting and, with a login,
// USER and PASS, which is less code than adapting a mail client library
// and keeps every read bounded.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// checkPOP judges a POP3 server (service pop) as ldirectord does: the
// greeting must be +OK, and when a login is configured USER and PASS must
// both be accepted.
func checkPOP(ctx context.Context, t Target) Result { return popCheck(ctx, t, false) }

// checkPOPS is checkPOP over TLS from the first byte (service pops).
func checkPOPS(ctx context.Context, t Target) Result { return popCheck(ctx, t, true) }

func popCheck(ctx context.Context, t Target, useTLS bool) Result {
	start := time.Now()
	c, err := dialText(ctx, t, useTLS)
	if err != nil {
		return verdictSince(start, false, err.Error())
	}
	defer c.Close()
	reply := func(what string) (string, error) {
		line, err := c.readLine(ctx, t, what)
		if err != nil {
			return "", err
		}
		ok, text, err := parsePOPReply(line)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		if !ok {
			return "", fmt.Errorf("%s: -ERR %s", what, quote([]byte(text)))
		}
		return text, nil
	}
	greeting, err := reply("banner")
	if err != nil {
		return verdictSince(start, false, err.Error())
	}
	login := t.Check.Login
	if login == "" {
		c.writeLine(ctx, t, "QUIT")
		return verdictSince(start, true, "POP3 greeting +OK "+quote([]byte(greeting)))
	}
	if strings.ContainsAny(login+t.Check.Passwd, "\r\n") {
		return verdictSince(start, false, "login failed: login or passwd contains a line break")
	}
	if err := c.writeLine(ctx, t, "USER "+login); err != nil {
		return verdictSince(start, false, err.Error())
	}
	if _, err := reply("USER answer"); err != nil {
		return verdictSince(start, false, "login failed: "+err.Error())
	}
	if err := c.writeLine(ctx, t, "PASS "+t.Check.Passwd); err != nil {
		return verdictSince(start, false, err.Error())
	}
	if _, err := reply("PASS answer"); err != nil {
		return verdictSince(start, false, "login failed: "+err.Error())
	}
	c.writeLine(ctx, t, "QUIT")
	return verdictSince(start, true, fmt.Sprintf("POP3 login as %q accepted", login))
}

// parsePOPReply splits a POP3 status line into its verdict and text.
func parsePOPReply(line string) (ok bool, text string, err error) {
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK "):
		return true, strings.TrimPrefix(strings.TrimPrefix(line, "+OK"), " "), nil
	case line == "-ERR" || strings.HasPrefix(line, "-ERR "):
		return false, strings.TrimPrefix(strings.TrimPrefix(line, "-ERR"), " "), nil
	}
	return false, "", fmt.Errorf("not a POP3 status line (+OK or -ERR): %s", quote([]byte(line)))
}
