package checks

import (
	"strconv"
	"strings"
)

// A reason quotes what servers answer, and a server may echo what it was
// sent: a password in an error message, a bind DN with its credentials. Run
// takes the configured passwd and secret out of every reason, whatever
// the check, so that neither reaches the log, the monitorfile, probe or
// status.

// masked stands for a secret in a reason.
const masked = "***"

// redact is reason without any of secrets: as written, as a protocol and
// quote escape it, and the start of one that quote cut short at its bound.
func redact(reason string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		// Escaped up to three times: by the protocol (an IMAP string),
		// by quote, and by both.
		form := s
		for range 3 {
			reason = strings.ReplaceAll(reason, form, masked)
			reason = maskCut(reason, form)
			q := strconv.Quote(form)
			form = q[1 : len(q)-1]
		}
	}
	return reason
}

// maskCut masks the start of secret where quote cut a quotation short
// (`...` before its closing quote): the secret may begin just before it.
func maskCut(reason, secret string) string {
	const cut = `..."`
	var b strings.Builder
	for {
		i := strings.Index(reason, cut)
		if i < 0 {
			b.WriteString(reason)
			return b.String()
		}
		head := reason[:i]
		for k := min(len(secret)-1, len(head)); k >= min(3, len(secret)); k-- {
			if strings.HasSuffix(head, secret[:k]) {
				head = head[:len(head)-k] + masked
				break
			}
		}
		b.WriteString(head + cut)
		reason = reason[i+len(cut):]
	}
}
