package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ldirectord-go/ldirectord/conf"
)

// TestNothingLeftBehind runs checks that end by timeout, by refusal and by
// success, and asks that none leaves a goroutine behind: a prober runs
// thousands of them.
func TestNothingLeftBehind(t *testing.T) {
	// Not parallel: goroutines of other tests would count.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// The servers stop at the end of the subtest, before the count.
	t.Run("checks", runChecksToLeak)
}

func runChecksToLeak(t *testing.T) {
	silentAddr := mute(t, "tcp4")
	for _, service := range []string{"http", "https", "http_proxy", "smtp", "ftp", "simpletcp", "dns"} {
		tg := target(t, silentAddr, conf.CheckNegotiate, service)
		tg.Timeout = 500 * time.Millisecond
		tg.Check.Request = "http://" + silentAddr + "/"
		tg.Check.Receive = "x"
		expect(t, tg, false, "timeout")
	}
	tg := target(t, refused(t, "tcp4"), conf.CheckConnect, "")
	expect(t, tg, false, "refused")
	tg = externalTarget(t, conf.CheckExternal, script(t, "sleep 10\n"))
	tg.Timeout = 500 * time.Millisecond
	expect(t, tg, false, "timeout")
	expect(t, target(t, "127.0.0.1:0", conf.CheckPing, ""), true, "echo reply")
}

// TestCancelStopsCheck cancels checks of servers that never answer: each
// ends at once, long before its timeout, as a stopping daemon needs.
func TestCancelStopsCheck(t *testing.T) {
	t.Parallel()
	silentAddr := mute(t, "tcp4")
	never := serveUDP(t, func([]byte) []byte { return nil })
	for _, service := range []string{"http", "https", "http_proxy", "smtp", "ftp", "simpletcp", "dns", "external"} {
		t.Run(service, func(t *testing.T) {
			t.Parallel()
			tg := target(t, silentAddr, conf.CheckNegotiate, service)
			tg.Timeout = time.Minute
			tg.Check.Request = "http://" + silentAddr + "/"
			tg.Check.Receive = "x"
			want := "check canceled"
			switch service {
			case "dns":
				tg = target(t, never, conf.CheckNegotiate, service)
				tg.Protocol = conf.UDP
				tg.Timeout = time.Minute
			case "external":
				tg = externalTarget(t, conf.CheckExternal, script(t, "sleep 60\n"))
				tg.Timeout = time.Minute
			}
			ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
			defer cancel()
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			r := Run(ctx, tg)
			if took := time.Since(start); took > slack {
				t.Fatalf("canceled %s check took %v", service, took)
			}
			if r.Up || !strings.Contains(r.Reason, want) {
				t.Fatalf("canceled %s check: up=%v reason %q, want down with %q", service, r.Up, r.Reason, want)
			}
		})
	}
}
