package checks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// FuzzReadLine feeds arbitrary server bytes to the line reader that the
// NNTP, POP3 and IMAP checks share: it returns lines without line ends
// and never longer than maxLine, or an error.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("+OK ready\r\n"))
	f.Add([]byte("* OK\n\r\n\n"))
	f.Add([]byte(strings.Repeat("x", maxLine+1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &textConn{r: bufio.NewReader(bytes.NewReader(data))}
		tg := Target{Timeout: time.Second}
		for i := 0; i < 100; i++ {
			line, err := c.readLine(context.Background(), tg, "banner")
			if err != nil {
				return
			}
			if strings.ContainsRune(line, '\n') || len(line) > maxLine {
				t.Fatalf("line %q", line)
			}
		}
	})
}

// TestLineErrorsKeepCause: the errors of the line conversation read as
// reasons and still carry their causes, so a timeout, a closed connection
// and a refusal can be told apart without parsing text.
func TestLineErrorsKeepCause(t *testing.T) {
	t.Parallel()
	converse := func(addr netip.AddrPort) error {
		tg := targetAt(addr, 300*time.Millisecond, conf.Check{})
		ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
		defer cancel()
		c, err := dialText(ctx, tg, false)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.readLine(ctx, tg, "banner")
		return err
	}
	cases := []struct {
		name   string
		addr   netip.AddrPort
		cause  error
		reason string
	}{
		{"refused", refused(t, "tcp4"), syscall.ECONNREFUSED, "connect: connection refused"},
		{"never answers", serve(t, "tcp4", silent), os.ErrDeadlineExceeded, "timeout after 300ms waiting for banner"},
		{"closes at once", serve(t, "tcp4", func(net.Conn) {}), io.EOF, "connection closed waiting for banner"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := converse(c.addr)
			if err == nil || err.Error() != c.reason {
				t.Fatalf("error %v, want %q", err, c.reason)
			}
			if !errors.Is(err, c.cause) {
				t.Fatalf("error %q does not wrap %v", err, c.cause)
			}
		})
	}
}
