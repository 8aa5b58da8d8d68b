package checks

// The SIP check is hand-written: it sends one OPTIONS request and reads
// the status line of the answer. A SIP stack would bring transactions,
// dialogs and retransmission timers that a health check does not use.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ldirectord-go/ldirectord/conf"
)

// maxSIPAnswer bounds the bytes read of a SIP answer: one UDP datagram or
// the status line over TCP.
const maxSIPAnswer = 4096

// checkSIP judges a SIP server as ldirectord does: send OPTIONS
// sip:<login> over the virtual service's protocol (UDP or TCP) with login
// as To, From and Contact, and call the server alive when it answers
// "SIP/2.0 200". login defaults to ldirectord@<hostname>.
func checkSIP(ctx context.Context, t Target) Result {
	login := t.Check.Login
	if login == "" {
		login = "ldirectord@" + hostname()
	}
	if strings.ContainsAny(login, "\r\n<> ") {
		return down("login cannot be a SIP address: it holds a line break, space or angle bracket")
	}
	network := "tcp"
	if t.Protocol == conf.UDP {
		network = "udp"
	}
	conn, err := dial(ctx, network, hostPort(t))
	if err != nil {
		return stepFailure(ctx, t, "connecting", "connect", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(sipOptions(login, network, conn.LocalAddr()))); err != nil {
		return stepFailure(ctx, t, "sending OPTIONS", "sending OPTIONS", err)
	}
	answer, err := readSIPAnswer(conn, network)
	if err != nil {
		return stepFailure(ctx, t, "waiting for the OPTIONS answer", "reading the OPTIONS answer", err)
	}
	code, phrase, err := parseSIPStatus(answer)
	if err != nil {
		return down(err.Error())
	}
	if code != 200 {
		return down(fmt.Sprintf("OPTIONS answered %d %s, want 200", code, quote([]byte(phrase))))
	}
	return up(fmt.Sprintf("OPTIONS answered 200 %s", quote([]byte(phrase))))
}

// sipOptions is the request ldirectord sends, with a Via naming the real
// transport and local address and fresh branch and Call-ID values.
func sipOptions(login, network string, local net.Addr) string {
	random := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	return "OPTIONS sip:" + login + " SIP/2.0\r\n" +
		"Via: SIP/2.0/" + strings.ToUpper(network) + " " + local.String() + ";branch=z9hG4bK" + random(8) + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: <sip:" + login + ">\r\n" +
		"From: <sip:" + login + ">;tag=" + random(4) + "\r\n" +
		"Call-ID: " + random(8) + "\r\n" +
		"CSeq: 63104 OPTIONS\r\n" +
		"Contact: <sip:" + login + ">\r\n" +
		"Accept: application/sdp\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// readSIPAnswer reads one datagram over UDP, or up to the end of the
// status line over TCP, never more than maxSIPAnswer bytes.
func readSIPAnswer(conn net.Conn, network string) ([]byte, error) {
	buf := make([]byte, maxSIPAnswer)
	if network == "udp" {
		n, err := conn.Read(buf)
		return buf[:n], err
	}
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if i := strings.IndexByte(string(buf[:n]), '\n'); i >= 0 {
			return buf[:n], nil
		}
		if err != nil {
			if n > 0 {
				return buf[:n], nil
			}
			return nil, err
		}
	}
	return buf[:n], nil
}

// parseSIPStatus reads the status line at the start of a SIP answer:
// "SIP/2.0 200 OK".
func parseSIPStatus(answer []byte) (code int, phrase string, err error) {
	line, _, _ := strings.Cut(string(answer), "\n")
	line = strings.TrimSuffix(line, "\r")
	version, rest, ok := strings.Cut(line, " ")
	if !ok || version != "SIP/2.0" {
		return 0, "", fmt.Errorf("not a SIP answer: %s", quote([]byte(line)))
	}
	digits, phrase, _ := strings.Cut(rest, " ")
	code, err = strconv.Atoi(digits)
	if err != nil || len(digits) != 3 || code < 100 {
		return 0, "", fmt.Errorf("SIP answer without a status code: %s", quote([]byte(line)))
	}
	return code, phrase, nil
}
