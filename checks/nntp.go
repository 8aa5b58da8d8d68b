package checks

// The NNTP check is hand-written: it needs only the greeting, a line that
// no client library makes smaller or safer to read.

import (
	"context"
	"fmt"
	"time"
)

// verdictSince is a verdict stamped with the time since start, so that a
// check called directly carries its duration too.
func verdictSince(start time.Time, isUp bool, reason string) Result {
	return Result{Up: isUp, Reason: reason, Duration: time.Since(start)}
}

// checkNNTP judges a news server by its greeting, as ldirectord does: a
// greeting whose status begins with 2 (200 posting allowed, 201 no
// posting) is alive. No command is sent.
func checkNNTP(ctx context.Context, t Target) Result {
	start := time.Now()
	c, err := dialText(ctx, t, false)
	if err != nil {
		return verdictSince(start, false, err.Error())
	}
	defer c.Close()
	line, err := c.readLine(ctx, t, "banner")
	if err != nil {
		return verdictSince(start, false, err.Error())
	}
	if err := parseNNTPGreeting(line); err != nil {
		return verdictSince(start, false, err.Error())
	}
	return verdictSince(start, true, "NNTP greeting "+quote([]byte(line)))
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
