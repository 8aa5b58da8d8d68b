package plan

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// The daemon states that emailalertstatus filters on.
const (
	Starting  = "starting"
	Running   = "running"
	Stopping  = "stopping"
	Reloading = "reloading"
)

// MailWanted reports whether an alert goes out in the daemon state given:
// there must be recipients, and the state must be one emailalertstatus lists
// (an empty list means all, as the default is).
func MailWanted(s conf.Settings, daemonState string) bool {
	if len(s.EmailAlert) == 0 {
		return false
	}
	if len(s.EmailAlertStatus) == 0 {
		return true
	}
	for _, st := range s.EmailAlertStatus {
		if st == "all" || st == daemonState {
			return true
		}
		if st == "none" {
			return false
		}
	}
	return false
}

// ResendDue reports whether a repeated alert for a real server that is still
// down is due: emailalertfreq is set and has passed since the last one.
func ResendDue(s conf.Settings, lastSent, now time.Time) bool {
	return s.EmailAlertFreq > 0 && !lastSent.IsZero() && now.Sub(lastSent) >= s.EmailAlertFreq
}

// SMTPAddr is the smtp directive with the default port 25 added if it has
// none.
func SMTPAddr(smtp string) string {
	if _, _, err := net.SplitHostPort(smtp); err == nil {
		return smtp
	}
	return net.JoinHostPort(strings.Trim(smtp, "[]"), "25")
}

// AlertSubject is the subject of the alert for real server r of v that
// went to st (Up or Down), in the Perl ldirectord's words: the weight it
// now has in the table, and "Still down" for a reminder (emailalertfreq).
func AlertSubject(v *conf.Virtual, r *conf.Real, st Status, repeat bool) string {
	what, w := "Restored", r.Weight
	if st == Down {
		what, w = "Deleted", 0
		if v.Settings.Quiescent {
			what = "Quiescent"
		}
	}
	subject := what + " real server: " + netip.AddrPortFrom(r.Addr, r.Port).String() +
		" (" + string(v.ID) + ") (Weight set to " + strconv.Itoa(w) + ")"
	if repeat {
		subject = "Still down: " + subject
	}
	return subject
}

// Mail is one alert message.
type Mail struct {
	From    string
	To      []string
	Subject string
	Body    string
}

// AlertMail builds the alert for a real server state change, with the same
// headers and body lines as the Perl ldirectord.
func AlertMail(v *conf.Virtual, hostname, from, subject, daemonState string) Mail {
	if from == "" {
		from = "root@" + hostname
	}
	if v.ServiceName != "" {
		subject = "[" + v.ServiceName + "] " + subject
	}
	body := fmt.Sprintf("ldirectord host: %s\nLog-Message: %s\nDaemon-Status: %s\n", hostname, subject, daemonState)
	var extra string
	if v.ServiceName != "" {
		extra += "Service name: " + v.ServiceName + "\n"
	}
	if v.Comment != "" {
		extra += "Comment: " + v.Comment + "\n"
	}
	if extra != "" {
		body += "\n" + extra
	}
	return Mail{From: from, To: v.Settings.EmailAlert, Subject: subject, Body: body}
}

// Bytes is the message as sent over SMTP, with CRLF line ends.
func (m Mail) Bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n", m.From, strings.Join(m.To, ", "), m.Subject)
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	return []byte(b.String())
}
