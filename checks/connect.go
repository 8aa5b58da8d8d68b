package checks

import (
	"context"

	"github.com/ldirectord-go/ldirectord/conf"
)

// checkConnect opens a TCP connection and closes it at once. A UDP service
// has no connection to open, so, as ldirectord does, it is pinged instead.
func checkConnect(ctx context.Context, t Target) Result {
	if t.Protocol == conf.UDP {
		return checkPing(ctx, t)
	}
	c, err := dial(ctx, "tcp", hostPort(t))
	if err != nil {
		return failure(ctx, t, "connecting", err)
	}
	_ = c.Close()
	return up("connected")
}
