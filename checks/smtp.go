package checks

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
)

// smtpHello is the name ldirectord's Net::SMTP greets with.
const smtpHello = "localhost.localdomain"

// checkSMTP is service = smtp and submission, as ldirectord's Net::SMTP
// check: the real server is up when it greets with 2xx and accepts EHLO
// or, after a permanent (5xx) refusal of EHLO, HELO; then the check says
// QUIT. A temporary (4xx) refusal of EHLO is down, as Net::SMTP tries HELO
// only after a 5xx.
func checkSMTP(ctx context.Context, t Target) Result {
	c, err := dial(ctx, "tcp", hostPort(t))
	if err != nil {
		return failure(ctx, t, "connecting", err)
	}
	defer c.Close()
	tp := textproto.NewConn(limit(c, maxRead))
	if _, _, err := tp.ReadResponse(2); err != nil {
		return smtpFailure(ctx, t, "banner", err)
	}
	err = smtpCmd(tp, "EHLO "+smtpHello)
	var refused *textproto.Error
	if !errors.As(err, &refused) || refused.Code/100 != 5 {
		if err != nil {
			return smtpFailure(ctx, t, "EHLO reply", err)
		}
		_ = smtpCmd(tp, "QUIT")
		return up("banner and EHLO accepted")
	}
	if err := smtpCmd(tp, "HELO "+smtpHello); err != nil {
		return smtpFailure(ctx, t, fmt.Sprintf("HELO reply (EHLO refused with %d)", refused.Code), err)
	}
	_ = smtpCmd(tp, "QUIT")
	return up(fmt.Sprintf("banner and HELO accepted (EHLO refused with %d)", refused.Code))
}

// smtpCmd sends one command and wants a 2xx reply, as Net::SMTP does.
func smtpCmd(tp *textproto.Conn, line string) error {
	id, err := tp.Cmd("%s", line)
	if err != nil {
		return err
	}
	tp.StartResponse(id)
	defer tp.EndResponse(id)
	_, _, err = tp.ReadResponse(2)
	return err
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
