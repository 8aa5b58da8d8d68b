package actors

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/plan"
)

// sideEffects runs the programs and mails an actor starts, off the actor and
// each bounded by a timeout, and waits for them when the actor stops.
type sideEffects struct {
	log      *zap.Logger
	timeout  time.Duration
	sendmail string // the local mail submission program
	wg       sync.WaitGroup
}

// run starts program (a shell command line, as the Perl ldirectord passes
// it to the shell) with args appended.
func (s *sideEffects) run(what, program string, args ...string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		shArgs := append([]string{"-c", program + ` "$@"`, "sh"}, args...)
		out, err := exec.CommandContext(ctx, "/bin/sh", shArgs...).CombinedOutput()
		if err != nil {
			s.log.Error(what+" failed", zap.String("program", program), zap.Strings("args", args), zap.Error(err), zap.ByteString("output", out))
			return
		}
		s.log.Info(what+" ran", zap.String("program", program), zap.Strings("args", args))
	}()
}

// mail sends m through the SMTP server at addr.
func (s *sideEffects) mail(addr string, m plan.Mail) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := sendMail(addr, m, s.timeout); err != nil {
			s.log.Error("email alert not sent", zap.String("smtp", addr), zap.Strings("to", m.To), zap.Error(err))
			return
		}
		s.log.Info("email alert sent", zap.String("smtp", addr), zap.Strings("to", m.To), zap.String("subject", m.Subject))
	}()
}

// sendmail hands m to the local mail system.
func (s *sideEffects) submit(m plan.Mail) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, s.sendmail, "-t", "-i")
		cmd.Stdin = strings.NewReader(strings.ReplaceAll(string(m.Bytes()), "\r\n", "\n"))
		if out, err := cmd.CombinedOutput(); err != nil {
			s.log.Error("email alert not sent", zap.String("program", s.sendmail), zap.Strings("to", m.To), zap.Error(err), zap.ByteString("output", out))
			return
		}
		s.log.Info("email alert sent", zap.String("program", s.sendmail), zap.Strings("to", m.To), zap.String("subject", m.Subject))
	}()
}

func sendMail(addr string, m plan.Mail, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("connect to smtp server: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Mail(envelopeFrom(m.From)); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(m.Bytes()); err != nil {
		return fmt.Errorf("smtp message body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	return c.Quit()
}

// envelopeFrom takes the address out of a From header such as
// `"ldirectord Alerts" <alerts@example.com>`.
func envelopeFrom(from string) string {
	for i := len(from) - 1; i >= 0; i-- {
		if from[i] == '<' {
			if j := len(from) - 1; from[j] == '>' {
				return from[i+1 : j]
			}
		}
	}
	return from
}

func (s *sideEffects) wait() { s.wg.Wait() }

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
