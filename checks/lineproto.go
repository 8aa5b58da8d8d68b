package checks

// This file holds the bounded line conversation that the hand-written text
// protocols (NNTP, POP3, IMAP) share. These protocols are hand-written
// because each check needs only a greeting and at most a login exchange: a
// few lines that no client library makes smaller or safer.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
)

// textConn is one line conversation with a server: every read and write
// ends at the check's deadline, and all reads together stop at maxRead
// bytes, so a server that streams garbage cannot hold a check.
type textConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialText connects over TCP, wrapped in TLS when useTLS. The text of the
// returned error is the reason.
func dialText(ctx context.Context, t Target, useTLS bool) (*textConn, error) {
	conn, err := dial(ctx, "tcp", hostPort(t))
	if err != nil {
		return nil, netError(ctx, t, "connecting", "connect", err)
	}
	if useTLS {
		// Real servers are addressed by IP, and ldirectord never verified
		// their certificates: the check asks whether the service answers,
		// not who it is.
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, netError(ctx, t, "during TLS handshake", "TLS handshake", err)
		}
		conn = tc
	}
	return &textConn{conn: conn, r: bufio.NewReaderSize(limit(conn, maxRead), 512)}, nil
}

// readLine reads one line without its line end; what names the awaited
// answer in the reason ("banner", "LOGIN answer").
func (c *textConn) readLine(ctx context.Context, t Target, what string) (string, error) {
	var b []byte
	for {
		ch, err := c.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", &stepError{reason: "connection closed waiting for " + what, cause: err}
			}
			return "", netError(ctx, t, "waiting for "+what, "reading "+what, err)
		}
		if ch == '\n' {
			if n := len(b); n > 0 && b[n-1] == '\r' {
				b = b[:n-1]
			}
			return string(b), nil
		}
		if len(b) >= maxLine {
			return "", fmt.Errorf("%s: %w: no line end in %d bytes", what, errTooLong, maxLine)
		}
		b = append(b, ch)
	}
}

// writeLine sends line and CR LF.
func (c *textConn) writeLine(ctx context.Context, t Target, line string) error {
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return netError(ctx, t, "sending a command", "sending", err)
	}
	return nil
}

func (c *textConn) Close() error { return c.conn.Close() }
