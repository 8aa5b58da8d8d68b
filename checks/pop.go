package checks

// The POP3 check is hand-written: it needs the greeting and, with a login,
// a few commands, which is less code than adapting a mail client library
// and keeps every read bounded.

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// checkPOP judges a POP3 server (service pop) as ldirectord does: the
// greeting must be +OK, and when a login is configured one of the ways
// Mail::POP3Client tries in its default mode BEST must log in: APOP when
// the greeting carries a timestamp, AUTH CRAM-MD5 when CAPA offers it,
// then USER and PASS.
func checkPOP(ctx context.Context, t Target) Result { return popCheck(ctx, t, false) }

// checkPOPS is checkPOP over TLS from the first byte (service pops).
func checkPOPS(ctx context.Context, t Target) Result { return popCheck(ctx, t, true) }

func popCheck(ctx context.Context, t Target, useTLS bool) Result {
	c, err := dialText(ctx, t, useTLS)
	if err != nil {
		return down(err.Error())
	}
	defer c.Close()
	line, err := c.readLine(ctx, t, "banner")
	if err != nil {
		return down(err.Error())
	}
	// A line that is not POP3 at all is not ok either; popAnswer says which.
	ok, greeting, _ := parsePOPReply(line)
	if !ok {
		return down(popAnswer("banner", line).Error())
	}
	login := t.Check.Login
	if login == "" {
		c.writeLine(ctx, t, "QUIT")
		return up("POP3 greeting +OK " + quote([]byte(greeting)))
	}
	if strings.ContainsAny(login+t.Check.Passwd, "\r\n") {
		return down("login failed: login or passwd contains a line break")
	}
	p := &popLogin{ctx: ctx, t: t, c: c, user: login, passwd: t.Check.Passwd}
	how, err := p.run(apopTimestamp(line))
	if err != nil {
		return loginFailed(append(p.refused, err))
	}
	if how == "" {
		return loginFailed(p.refused)
	}
	c.writeLine(ctx, t, "QUIT")
	return up(fmt.Sprintf("%s as %q accepted", how, login))
}

// loginFailed is the verdict when no way logged in; why holds the
// server's answers to each way tried and the error that ended the
// conversation, if one did.
func loginFailed(why []error) Result {
	parts := make([]string, len(why))
	for i, err := range why {
		parts[i] = err.Error()
	}
	return down("login failed: " + strings.Join(parts, ", "))
}

// popLogin is one login attempt on an open POP3 connection. refused
// collects the answers of the ways that did not log in, for the reason;
// nothing secret goes there, only the server's answers.
type popLogin struct {
	ctx          context.Context
	t            Target
	c            *textConn
	user, passwd string
	refused      []error
}

// run logs in as Mail::POP3Client's Login does in mode BEST, all on the
// one connection: APOP, then AUTH CRAM-MD5, then USER and PASS, each tried
// when the one before did not log in. how names the way that logged in,
// or is empty when none did; err is a failure that ends the conversation.
func (p *popLogin) run(timestamp string) (how string, err error) {
	if timestamp != "" {
		ok, err := p.apop(timestamp)
		if ok || err != nil {
			return "APOP", err
		}
	}
	cram, err := p.offersCRAMMD5()
	if err != nil {
		return "", err
	}
	if cram {
		ok, err := p.cramMD5()
		if ok || err != nil {
			return "AUTH CRAM-MD5", err
		}
	}
	ok, err := p.userPass()
	if ok || err != nil {
		return "POP3 login", err
	}
	return "", nil
}

// apop sends APOP with the digest of the greeting's timestamp and the
// passwd. Mail::POP3Client then sends NOOP, whatever the answer, and goes
// on only if NOOP is answered +OK. RFC 1939 allows NOOP only once logged
// in, so a server that follows it (dovecot does) refuses it after a
// refused APOP, and the login fails there without trying the other ways;
// only a server that accepts NOOP before login gets them. That is
// ldirectord's verdict, so it is ours.
func (p *popLogin) apop(timestamp string) (bool, error) {
	sum := md5.Sum([]byte(timestamp + p.passwd))
	answer, err := p.command("APOP "+p.user+" "+hex.EncodeToString(sum[:]), "APOP answer")
	if err != nil {
		return false, err
	}
	accepted := isPOPOK(answer)
	noop, err := p.command("NOOP", "NOOP answer")
	if err != nil {
		return false, err
	}
	if !isPOPOK(noop) {
		p.refused = append(p.refused, popAnswer("APOP answer", answer))
		return false, popAnswer("NOOP answer", noop)
	}
	if !accepted {
		p.refused = append(p.refused, popAnswer("APOP answer", answer))
	}
	return accepted, nil
}

// saslCRAMMD5 is Mail::POP3Client's test of a CAPA line for CRAM-MD5,
// with Perl's \s spelled out: RE2's \s lacks the vertical tab.
var saslCRAMMD5 = regexp.MustCompile(`^SASL.*?[\t\n\v\f\r ]CRAM-MD5\b`)

// capaEnd is the line that ends a multi-line answer, as Mail::POP3Client
// recognises it.
var capaEnd = regexp.MustCompile(`^\.[\t\n\v\f\r ]*$`)

// offersCRAMMD5 asks CAPA whether the server offers SASL CRAM-MD5. A
// refused CAPA only means no: the server may still take USER and PASS.
func (p *popLogin) offersCRAMMD5() (bool, error) {
	first, err := p.command("CAPA", "CAPA answer")
	if err != nil || !isPOPOK(first) {
		return false, err
	}
	cram := false
	for {
		// The reads are bounded by maxRead and the deadline: a server
		// that never ends the list fails the check.
		line, err := p.c.readLine(p.ctx, p.t, "end of CAPA list")
		if err != nil {
			return false, err
		}
		if capaEnd.MatchString(line) {
			return cram, nil
		}
		cram = cram || saslCRAMMD5.MatchString(line)
	}
}

// cramMD5 answers the challenge of AUTH CRAM-MD5 (RFC 2195) with the
// HMAC-MD5 of it keyed by the passwd. An answer that is not a challenge
// is sent nothing more, as Mail::POP3Client does.
func (p *popLogin) cramMD5() (bool, error) {
	answer, err := p.command("AUTH CRAM-MD5", "AUTH CRAM-MD5 answer")
	if err != nil {
		return false, err
	}
	encoded, ok := strings.CutPrefix(answer, "+ ")
	if !ok {
		p.refused = append(p.refused, popAnswer("AUTH CRAM-MD5 answer", answer))
		return false, nil
	}
	mac := hmac.New(md5.New, []byte(p.passwd))
	mac.Write(perlBase64(encoded))
	response := base64.StdEncoding.EncodeToString([]byte(p.user + " " + hex.EncodeToString(mac.Sum(nil))))
	return p.expectOK(response, "CRAM-MD5 answer")
}

// userPass sends USER and PASS; a USER that is not +OK gets no PASS.
func (p *popLogin) userPass() (bool, error) {
	if ok, err := p.expectOK("USER "+p.user, "USER answer"); !ok || err != nil {
		return false, err
	}
	return p.expectOK("PASS "+p.passwd, "PASS answer")
}

// expectOK sends line and reports whether its answer, called what, is
// +OK; a refusal is kept in refused for the reason.
func (p *popLogin) expectOK(line, what string) (bool, error) {
	answer, err := p.command(line, what)
	if err != nil {
		return false, err
	}
	if !isPOPOK(answer) {
		p.refused = append(p.refused, popAnswer(what, answer))
		return false, nil
	}
	return true, nil
}

// command sends line and reads the one-line answer called what.
func (p *popLogin) command(line, what string) (string, error) {
	if err := p.c.writeLine(p.ctx, p.t, line); err != nil {
		return "", err
	}
	return p.c.readLine(p.ctx, p.t, what)
}

func isPOPOK(line string) bool {
	ok, _, err := parsePOPReply(line)
	return ok && err == nil
}

// popAnswer is the answer called what as it shows in a reason; an answer
// that is not a POP3 status line wraps the parse error.
func popAnswer(what, line string) error {
	ok, text, err := parsePOPReply(line)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case ok:
		return fmt.Errorf("%s: +OK %s", what, quote([]byte(text)))
	}
	return fmt.Errorf("%s: -ERR %s", what, quote([]byte(text)))
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

// popAtom and popTimestamp are Mail::POP3Client's pattern for the RFC 1939
// timestamp in a greeting, whose presence makes it try APOP. Perl's \w on
// the bytes of a socket is ASCII, as RE2's is.
const popAtom = "[-_\\w!#$%&'*+/=?^`{|}~]+"

var popTimestamp = regexp.MustCompile("<" + popAtom + `(?:\.` + popAtom + `)*@` + popAtom + `(?:\.` + popAtom + `)*>`)

// apopTimestamp is the first timestamp in the greeting line, or "".
func apopTimestamp(greeting string) string { return popTimestamp.FindString(greeting) }

// perlBase64 decodes as MIME::Base64::decode does, which never fails:
// characters outside the alphabet are skipped, decoding stops at the first
// "=", and a last group of 2 or 3 characters still gives its 1 or 2 bytes.
// A server's challenge is used whatever it holds, as the Perl check uses it.
func perlBase64(s string) []byte {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '=' {
			break
		}
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '+' || ch == '/' {
			clean = append(clean, ch)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out, _ := base64.RawStdEncoding.DecodeString(string(clean))
	return out
}
