package checks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/ldirectord-go/ldirectord/conf"
)

// checkSimpleTCP sends the request, with each "\n" in it turned into a
// newline, closes its side of the connection and reads the answer line by
// line, as ldirectord does: the real server is up as soon as one line
// matches receive. An empty receive matches the first line.
func checkSimpleTCP(ctx context.Context, t Target) Result {
	receive, err := regexp.Compile(t.Check.Receive)
	if err != nil {
		return down(fmt.Sprintf("receive %q is not a valid regexp: %v", t.Check.Receive, err))
	}
	network := "tcp"
	if t.Protocol == conf.UDP {
		network = "udp"
	}
	c, err := dial(ctx, network, hostPort(t))
	if err != nil {
		return failure(ctx, t, "connecting", err)
	}
	defer c.Close()
	request := strings.ReplaceAll(strings.TrimPrefix(t.Check.Request, "/"), `\n`, "\n")
	if _, err := io.WriteString(c, request); err != nil {
		return failure(ctx, t, "sending request", err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	var answer io.Reader = limit(c, maxRead)
	if network == "udp" {
		// A datagram service answers with one datagram.
		buf := make([]byte, maxRead)
		n, err := c.Read(buf)
		if err != nil {
			return failure(ctx, t, fmt.Sprintf("waiting for receive /%s/", t.Check.Receive), err)
		}
		answer = bytes.NewReader(buf[:n])
	}
	n, line, err := matchLines(receive, answer)
	switch {
	case line != nil:
		return up(fmt.Sprintf("receive /%s/ matched %s", t.Check.Receive, quote(line)))
	case err != nil && err != io.EOF:
		r := failure(ctx, t, fmt.Sprintf("waiting for receive /%s/", t.Check.Receive), err)
		r.Reason += fmt.Sprintf(" (%d bytes read)", n)
		return r
	}
	return down(fmt.Sprintf("receive /%s/ not found in %d bytes", t.Check.Receive, n))
}

// matchLines reads r line by line until a line matches re, and returns the
// bytes read, the matching line (nil when none) and the error that ended
// the reading (io.EOF at a clean end). The last line need not end in a
// newline.
func matchLines(re *regexp.Regexp, r io.Reader) (n int, match []byte, err error) {
	br := bufio.NewReaderSize(r, maxLine)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			if len(line) > maxRead {
				return n, nil, errTooLong
			}
			continue
		}
		if len(line) > 0 && perlMatch(re, line) {
			return n, line, nil
		}
		if err != nil {
			return n, nil, err
		}
		line = line[:0]
	}
}
