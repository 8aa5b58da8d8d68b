package checks

import (
	"context"
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
)

// smtpHello is the name ldirectord's Net::SMTP greets with.
const smtpHello = "localhost.localdomain"

// checkSMTP is service = smtp and submission, as ldirectord's Net::SMTP
// check: the real server is up when it greets with 220 and accepts EHLO
// (or, when it refuses EHLO, HELO); then the check says QUIT.
func checkSMTP(ctx context.Context, t Target) Result {
	c, err := dial(ctx, "tcp", hostPort(t))
	if err != nil {
		return failure(ctx, t, "connecting", err)
	}
	defer c.Close()
	client, err := smtp.NewClient(limit(c, maxRead), t.Addr.String())
	if err != nil {
		return smtpFailure(ctx, t, "banner", err)
	}
	// Hello sends EHLO, then HELO if the server refuses EHLO.
	if err := client.Hello(smtpHello); err != nil {
		return smtpFailure(ctx, t, "EHLO reply", err)
	}
	_ = client.Quit()
	return up("banner and EHLO accepted")
}

func smtpFailure(ctx context.Context, t Target, what string, err error) Result {
	var te *textproto.Error
	if errors.As(err, &te) {
		return down(fmt.Sprintf("%s: %d %s", what, te.Code, quote([]byte(te.Msg))))
	}
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return down(fmt.Sprintf("%s: not SMTP: %s", what, quote([]byte(pe))))
	}
	return failure(ctx, t, "waiting for "+what, err)
}
