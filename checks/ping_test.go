package checks

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/ldirectord-go/ldirectord/conf"
)

func TestPing(t *testing.T) {
	t.Parallel()
	for _, addr := range []netip.AddrPort{loopback(0), loopback6(0)} {
		tg := target(addr, conf.CheckPing, "")
		tg.CheckCount = 3
		expect(t, Run, tg, true, "echo reply (try 1 of 3)")
	}
	// A UDP service's connect check is a ping, as in ldirectord.
	tg := target(loopback(53), conf.CheckConnect, "")
	tg.Protocol = conf.UDP
	expect(t, Run, tg, true, "echo reply")
}

// TestPingNoReply pings, from inside a network namespace of the test's
// own, addresses on a link where nothing answers.
func TestPingNoReply(t *testing.T) {
	ipCmd := need(t, "iproute2", "ip")
	name := fmt.Sprintf("checks-ping-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", name)
	t.Cleanup(func() { _ = exec.Command(ipCmd, "netns", "del", name).Run() })
	ip("-n", name, "link", "set", "lo", "up")
	// Both ends of a veth pair stay in the namespace; only one has
	// addresses, so nobody answers for the others on its link.
	ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ip("-n", name, "addr", "add", "192.0.2.1/24", "dev", "v0")
	ip("-n", name, "addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
	ip("-n", name, "link", "set", "v0", "up")
	ip("-n", name, "link", "set", "v1", "up")

	// The raw socket is opened by the calling thread, in its namespace.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	host, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := netns.Set(host); err != nil {
			panic(err) // this thread must not go back to the pool in the test's namespace
		}
	}()

	for _, addr := range []string{"192.0.2.2", "2001:db8::2"} {
		tg := target(netip.AddrPortFrom(netip.MustParseAddr(addr), 0), conf.CheckPing, "")
		tg.Timeout, tg.CheckCount = time.Second, 2
		// Each try has the whole timeout, as in ldirectord, so the
		// caller gives the context CheckCount times the timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 2*tg.Timeout)
		start := time.Now()
		r := Run(ctx, tg)
		cancel()
		if r.Up || r.Reason != "ping: no echo reply within 1s (2 of 2 tries)" {
			t.Fatalf("ping %s: up=%v reason %q, want down after 2 tries", addr, r.Up, r.Reason)
		}
		if took := time.Since(start); took < 1900*time.Millisecond || took > 2*tg.Timeout+slack {
			t.Fatalf("ping %s took %v, want about 2 tries of 1s", addr, took)
		}
	}
	// A namespace whose loopback is up answers its own pings.
	tg := target(loopback(0), conf.CheckPing, "")
	expect(t, Run, tg, true, "echo reply")
}
