package checks

import (
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
