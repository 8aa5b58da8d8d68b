package checks

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ldirectord-go/ldirectord/conf"
)

// TestNothingLeftBehind runs every check to a timeout, a refusal and a
// success, and asks that none leaves a goroutine behind: a prober runs
// thousands of them.
func TestNothingLeftBehind(t *testing.T) {
	// Not parallel: goroutines of other tests would count.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// The servers stop at the end of the subtest, before the count.
	t.Run("checks", runChecksToLeak)
}

func runChecksToLeak(t *testing.T) {
	silentAddr := serve(t, "tcp4", silent)
	for _, service := range []string{"http", "https", "http_proxy", "smtp", "ftp", "simpletcp", "dns"} {
		tg := target(silentAddr, conf.CheckNegotiate, service)
		tg.Timeout = 500 * time.Millisecond
		tg.Check.Request = "http://" + silentAddr.String() + "/"
		tg.Check.Receive = "x"
		expect(t, Run, tg, false, "timeout")
	}
	tg := target(refused(t, "tcp4"), conf.CheckConnect, "")
	expect(t, Run, tg, false, "refused")
	tg = externalTarget(t, conf.CheckExternal, script(t, "sleep 10\n"))
	tg.Timeout = 500 * time.Millisecond
	expect(t, Run, tg, false, "timeout")
	expect(t, Run, target(loopback(0), conf.CheckPing, ""), true, "echo reply")

	refusedAt := refused(t, "tcp4")
	sql := conf.Check{Login: "alice", Passwd: "wonderland", Database: "db", Request: "SELECT 1"}
	for name, f := range map[string]Func{
		"imap": checkIMAP, "imaps": checkIMAPS, "pop": checkPOP, "pops": checkPOPS,
		"ldap": checkLDAP, "ldaps": checkLDAPS, "mysql": checkMySQL, "pgsql": checkPgSQL,
		"oracle": checkOracle, "sip": checkSIP, "nntp": checkNNTP,
	} {
		for _, ap := range []netip.AddrPort{silentAddr, refusedAt} {
			if r := runCheck(f, targetAt(ap, 300*time.Millisecond, sql)); r.Up {
				t.Errorf("%s against %v: up, want down", name, ap)
			}
		}
	}
	radius := sql
	radius.Secret = "sesame"
	tg = targetAt(serveUDP(t, "udp4", func([]byte) []byte { return nil }), 300*time.Millisecond, radius)
	expect(t, checkRADIUS, tg, false, "timeout")
	expect(t, checkNNTP, targetAt(serve(t, "tcp4", sayThenHold("200 ready\r\n")), time.Second, conf.Check{}), true, "200 ready")
}

// TestCancelStopsCheck cancels checks of servers that never answer: each
// ends at once, long before its timeout, as a stopping daemon needs.
func TestCancelStopsCheck(t *testing.T) {
	t.Parallel()
	silentAddr := serve(t, "tcp4", silent)
	never := serveUDP(t, "udp4", func([]byte) []byte { return nil })
	for _, service := range []string{"http", "https", "http_proxy", "smtp", "ftp", "simpletcp", "dns", "external"} {
		t.Run(service, func(t *testing.T) {
			t.Parallel()
			tg := target(silentAddr, conf.CheckNegotiate, service)
			tg.Timeout = time.Minute
			tg.Check.Request = "http://" + silentAddr.String() + "/"
			tg.Check.Receive = "x"
			want := "check canceled"
			switch service {
			case "dns":
				tg = target(never, conf.CheckNegotiate, service)
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
