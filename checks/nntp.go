package checks

// The NNTP check is hand-written: it needs only the greeting, a line that
// no client library makes smaller or safer to read.

import (
	"context"
	"fmt"
)

// checkNNTP judges a news server by its greeting, as ldirectord does: a
// greeting whose status begins with 2 (200 posting allowed, 201 no
// posting) is alive. No command is sent.
func checkNNTP(ctx context.Context, t Target) Result {
	c, err := dialText(ctx, t, false)
	if err != nil {
		return down(err.Error())
	}
	defer c.Close()
	line, err := c.readLine(ctx, t, "banner")
	if err != nil {
		return down(err.Error())
	}
	if err := parseNNTPGreeting(line); err != nil {
		return down(err.Error())
	}
	return up("NNTP greeting " + quote([]byte(line)))
}

// parseNNTPGreeting accepts a greeting whose three-digit status begins
// with 2. ldirectord only looks at the first byte; requiring a status code
// keeps stray bytes that happen to start with 2 from passing.
func parseNNTPGreeting(line string) error {
	if len(line) >= 3 && line[0] == '2' && isDigit(line[1]) && isDigit(line[2]) {
		return nil
	}
	return fmt.Errorf("NNTP greeting is not 2xx: %s", quote([]byte(line)))
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
