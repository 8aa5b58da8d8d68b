package checks

import (
	"context"
	"errors"
	"fmt"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// checkPing sends ICMP (ICMPv6 for an IPv6 real server) echo requests from
// a raw socket, which needs root, as ldirectord's Net::Ping does. Like
// ldirectord it tries up to CheckCount times, each try bounded by the
// timeout; all tries together stay within the context, so a caller that
// wants every try to run gives the context CheckCount times the timeout.
func checkPing(ctx context.Context, t Target) Result {
	tries := max(t.CheckCount, 1)
	var last string
	try := 0
	for try < tries {
		try++
		ok, err := pingOnce(ctx, t)
		noteShortage(ctx, err)
		if ok {
			return up(fmt.Sprintf("echo reply (try %d of %d)", try, tries))
		}
		if err != nil {
			last = short(err)
		} else {
			last = fmt.Sprintf("no echo reply within %s", t.Timeout)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return down(fmt.Sprintf("ping: %s (%d of %d tries)", last, try, tries))
}

func pingOnce(ctx context.Context, t Target) (bool, error) {
	p := probing.New(t.Addr.Unmap().String())
	p.SetPrivileged(true)
	p.Count = 1
	p.Timeout = t.Timeout
	if p.Timeout <= 0 {
		p.Timeout = 5 * time.Second
	}
	if err := p.Resolve(); err != nil {
		return false, err
	}
	if err := p.RunWithContext(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return false, err
	}
	return p.Statistics().PacketsRecv > 0, nil
}
