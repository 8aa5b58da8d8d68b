package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bounds on what a check reads from a server: enough for any banner or
// health page, small enough that a misbehaving server cannot make a check
// hold much memory.
const (
	maxLine = 4 << 10  // one protocol line (banner, reply)
	maxRead = 64 << 10 // a whole conversation on a line protocol
	maxBody = 1 << 20  // an HTTP body or an FTP file
)

func up(reason string) Result   { return Result{Up: true, Reason: reason} }
func down(reason string) Result { return Result{Up: false, Reason: reason} }

// failure is the reason for a check that failed while doing what: a
// timeout names the bound that ran out, any other error its short cause
// ("connect: connection refused").
func failure(ctx context.Context, t Target, doing string, err error) Result {
	if errors.Is(ctx.Err(), context.Canceled) {
		return down("check canceled " + doing)
	}
	if isTimeout(ctx, err) {
		return down(fmt.Sprintf("timeout after %s %s", t.Timeout, doing))
	}
	return down(short(err))
}

// stepFailure is failure for a check that names its steps: a cause other
// than a timeout is told with the step it ended ("TLS handshake: ...").
func stepFailure(ctx context.Context, t Target, doing, step string, err error) Result {
	return down(netReason(ctx, t, doing, step, err))
}

// netReason is the reason for a network error during step: a timeout names
// the bound and what the check was doing, any other error its short cause
// prefixed with step. Unlike failure it tells a cancellation as a timeout,
// as these checks always have: only a stopping prober cancels a check, and
// it drops the verdict.
func netReason(ctx context.Context, t Target, doing, step string, err error) string {
	if isTimeout(ctx, err) {
		return fmt.Sprintf("timeout after %s %s", t.Timeout, doing)
	}
	msg := short(err)
	if strings.HasPrefix(msg, step+": ") {
		return msg
	}
	return step + ": " + msg
}

// stepError carries the reason made where a conversation failed up to the
// check that turns it into a verdict, and keeps the cause beneath it, so
// that a timeout, a closed connection and a refusal can still be told
// apart with errors.Is and errors.As.
type stepError struct {
	reason string
	cause  error
}

func (e *stepError) Error() string { return e.reason }
func (e *stepError) Unwrap() error { return e.cause }

// netError is a network error during step, its text the reason netReason
// gives.
func netError(ctx context.Context, t Target, doing, step string, err error) error {
	return &stepError{reason: netReason(ctx, t, doing, step, err), cause: err}
}

func isTimeout(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return ctx.Err() != nil
}

// short drops the addresses and operation names that every reason would
// repeat and keeps the cause an operator acts on.
func short(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by server"
	}
	if errors.Is(err, errTooLong) {
		return err.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		// A proxy's dial error comes inside a "proxyconnect" one.
		for inner := (*net.OpError)(nil); errors.As(op.Err, &inner) && inner.Err != nil; {
			op = inner
		}
		return op.Err.Error()
	}
	return err.Error()
}

// hostPort is the address a check connects to.
func hostPort(t Target) string {
	return netip.AddrPortFrom(t.Addr, t.Port).String()
}

// perlAddr writes an address as ldirectord passes it to external commands
// and puts it in URLs: IPv6 in brackets.
func perlAddr(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "[" + a.String() + "]"
	}
	return a.Unmap().String()
}

// dialer dials every check's connection. A check's connection lives no
// longer than its timeout, so TCP keep-alives, which the zero Dialer turns
// on with four setsockopt calls per connection, would never send a probe
// before the deadline ends the connection anyway.
//
// It dials the "host:port" string, not (*net.Dialer).DialTCP with the
// target's netip.AddrPort: DialTCP takes the zero local address as a
// wildcard to bind to (golang/go#81620), so every connection binds to
// port 0 before connecting. That costs a syscall and, worse, takes the
// ephemeral port at bind time, when it cannot be shared with a TIME_WAIT
// connection to another real: checks that close first (connect checks)
// fail with "bind: address already in use" after some 28,000 connections
// within TIME_WAIT's minute, which 1,000 reals reach in half a minute.
// Parsing the literal address string costs next to nothing beside that.
var dialer = net.Dialer{KeepAlive: -1}

// dial connects within the context and ties the connection's deadline to
// it, so that every later read and write ends when the check's time is up.
func dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, noteShortage(ctx, err)
	}
	return deadlined(ctx, c), nil
}

// deadlined bounds a connection by the context: by its deadline, and by
// its cancellation, which sets a deadline in the past.
func deadlined(ctx context.Context, c net.Conn) net.Conn {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return c
}

var errTooLong = errors.New("answer too long")

// bounded is a connection that refuses to read more than left bytes, so
// that a server that streams without end cannot keep a check reading.
type bounded struct {
	net.Conn
	left, max int64
}

func limit(c net.Conn, n int64) *bounded { return &bounded{Conn: c, left: n, max: n} }

func (b *bounded) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("%w: more than %d bytes", errTooLong, b.max)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.Conn.Read(p)
	b.left -= int64(n)
	return n, err
}

// perlMatch matches as Perl's m// does without flags, where $ also
// matches before a final newline, as it does at the end of a health page.
func perlMatch(re *regexp.Regexp, b []byte) bool {
	if re.Match(b) {
		return true
	}
	n := len(b)
	return n > 0 && b[n-1] == '\n' && re.Match(b[:n-1])
}

// quote shows a server's answer in a reason: one line, printable, short.
func quote(b []byte) string {
	s := strings.TrimRight(string(b), "\r\n")
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + "..."
	}
	const most = 80
	if len(s) > most {
		s = s[:most] + "..."
	}
	return strconv.Quote(s)
}
