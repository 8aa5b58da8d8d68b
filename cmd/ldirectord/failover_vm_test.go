package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/ipvsadm"
	"github.com/ldirectord-go/ldirectord/internal/vm"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// Two directors on the real kernel: one VM, network namespaces as
// machines (a client, directors A and B, two real servers) joined by a
// bridge. Our daemon runs in A's namespace and in B's on the same
// configuration; the virtual IP moves from A to B as IPaddr2 moves it.
// With syncdaemon = both, a TCP connection opened through A goes on
// through B to the same real server; without it, B resets it. Direct
// routing puts the reals on the client's bridge; masq puts them on a
// second bridge behind the directors, their gateway an address that
// moves with the virtual IP.

// The machines: each a namespace with eth1 on the bridge (masq: the reals'
// eth1 and the directors' eth2 on the second bridge). The directors'
// interface has the same name in both, as the one configuration says.
const (
	foBridge  = "fobr"
	foBridge2 = "fobr2"
	foIf      = "eth1"
	foIf2     = "eth2"
	foClient  = "focl"
	foA       = "foda"
	foB       = "fodb"
	foVIP     = "10.7.0.100"
	foGateway = "10.8.0.254" // masq: the reals' gateway, on the active director
	foPort    = "7000"
	foSyncCfg = "syncdaemon = both " + foIf + " syncid=10\n"
)

// foReals are the real servers' namespaces: each answers as its name.
var foReals = []string{"fore1", "fore2"}

// foAddr is the address of machine ns on the client's network, or, for a
// real with masq, on the reals' network.
func foAddr(ns, method string) string {
	n := map[string]int{foClient: 1, foA: 2, foB: 3, "fore1": 11, "fore2": 12}[ns]
	if method == "masq" && slices.Contains(foReals, ns) {
		return fmt.Sprintf("10.8.0.%d", n)
	}
	return fmt.Sprintf("10.7.0.%d", n)
}

// failoverWorld is the pair: the daemons' worlds (pid directory,
// configuration, log) of A and B, the forwarding method, and when the
// test began.
type failoverWorld struct {
	t      *testing.T
	method string // gate or masq
	start  time.Time
	dirs   map[string]*env // by director namespace
}

// newFailoverWorld builds the machines, the reals' line echo servers and
// starts our daemon on A and on B, on the same configuration but for
// extra (the syncdaemon line or nothing) and each its own log file.
func newFailoverWorld(t *testing.T, method, extra string) *failoverWorld {
	t.Helper()
	needGuest(t)
	w := &failoverWorld{t: t, method: method, start: time.Now(), dirs: map[string]*env{}}
	bridges := []string{foBridge}
	if method == "masq" {
		bridges = append(bridges, foBridge2)
	}
	for _, br := range bridges {
		if err := vm.IP("link", "add", br, "type", "bridge"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { vm.IP("link", "del", br) })
		if err := vm.IP("link", "set", br, "up"); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range append([]string{foClient, foA, foB}, foReals...) {
		p := vm.Peer{NS: ns, Host: "b" + ns, PeerDev: foIf, PeerAddr: foAddr(ns, method) + "/24"}
		t.Cleanup(func() { p.Del() })
		if err := p.Add(); err != nil {
			t.Fatal(err)
		}
		br := foBridge
		if foAddr(ns, method) != foAddr(ns, "gate") {
			br = foBridge2
		}
		if err := vm.IP("link", "set", p.Host, "master", br); err != nil {
			t.Fatal(err)
		}
	}
	if method == "masq" {
		w.masqNetwork()
	} else {
		w.directRouting()
	}
	for _, r := range foReals {
		lineEcho(t, r)
	}
	cfg := fastGlobals + extra + "virtual = " + foVIP + ":" + foPort + "\n"
	for _, r := range foReals {
		cfg += "\treal = " + foAddr(r, method) + ":" + foPort + " " + method + " 1\n"
	}
	cfg += "\tprotocol = tcp\n\tscheduler = rr\n\tchecktype = connect\n"
	for _, d := range []string{foA, foB} {
		e := newEnv(t)
		e.config(cfg)
		w.dirs[d] = e
		w.ld(d, "start")
		t.Cleanup(func() { e.ld("l.cf", "stop") })
	}
	svc := "ipv4/tcp/" + foVIP + ":" + foPort + " "
	both := all(has(svc+w.realAddr(foReals[0]), 1), has(svc+w.realAddr(foReals[1]), 1))
	for _, d := range []string{foA, foB} {
		w.waitTable(d, "both reals in at weight 1", both)
	}
	w.logf("%s: topology up, our daemon on %s and %s, both reals in both tables; %s holds no virtual IP yet", method, foA, foB, foA)
	return w
}

// directRouting has the reals hold the virtual IP on lo, never answer ARP
// for it nor announce it: they answer the client straight.
func (w *failoverWorld) directRouting() {
	w.t.Helper()
	for _, r := range foReals {
		if err := vm.IP("-n", r, "addr", "add", foVIP+"/32", "dev", "lo"); err != nil {
			w.t.Fatal(err)
		}
		for _, kv := range []string{"arp_ignore=1", "arp_announce=2"} {
			for _, dev := range []string{"all", foIf} {
				w.sysctl(r, "net.ipv4.conf."+dev+"."+kv)
			}
		}
	}
}

// masqNetwork gives each director a second leg, eth2, on the reals'
// bridge and has it forward; the reals' default route goes through the
// gateway address that moves with the virtual IP.
func (w *failoverWorld) masqNetwork() {
	t := w.t
	t.Helper()
	for _, d := range []string{foA, foB} {
		host := "c" + d
		t.Cleanup(func() { vm.IP("link", "del", host) })
		for _, args := range [][]string{
			{"link", "add", host, "type", "veth", "peer", "name", foIf2},
			{"link", "set", foIf2, "netns", d},
			{"link", "set", host, "master", foBridge2},
			{"link", "set", host, "up"},
			{"-n", d, "addr", "add", strings.Replace(foAddr(d, "gate"), "10.7.", "10.8.", 1) + "/24", "dev", foIf2},
			{"-n", d, "link", "set", foIf2, "up"},
		} {
			if err := vm.IP(args...); err != nil {
				w.t.Fatal(err)
			}
		}
		w.sysctl(d, "net.ipv4.ip_forward=1")
	}
	for _, r := range foReals {
		if err := vm.IP("-n", r, "route", "add", "default", "via", foGateway); err != nil {
			w.t.Fatal(err)
		}
	}
}

// sysctl sets kv in the namespace ns.
func (w *failoverWorld) sysctl(ns, kv string) {
	w.t.Helper()
	if _, err := in(ns, "sysctl", "-w", kv); err != nil {
		w.t.Fatal(err)
	}
}

// realAddr is the address and port of the real in namespace ns.
func (w *failoverWorld) realAddr(ns string) string { return foAddr(ns, w.method) + ":" + foPort }

// logf logs with the time since the world was made.
func (w *failoverWorld) logf(format string, args ...any) {
	w.t.Helper()
	w.t.Logf("[%5.1fs] %s", time.Since(w.start).Seconds(), fmt.Sprintf(format, args...))
}

// lineEcho serves, in the namespace ns on every address, each line it
// reads back prefixed with ns: "fore1 hello".
func lineEcho(t *testing.T, ns string) {
	t.Helper()
	ln, err := listenIn(ns, ":"+foPort)
	if err != nil {
		t.Fatalf("listen in %s: %v", ns, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := fmt.Fprintf(c, "%s %s\n", ns, sc.Text()); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// ld runs our ldirectord in the director's namespace on its configuration.
func (w *failoverWorld) ld(director string, args ...string) string {
	w.t.Helper()
	e := w.dirs[director]
	cmd := exec.Command("/usr/sbin/ip", append([]string{"netns", "exec", director, binary, e.path("l.cf")}, args...)...)
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("ldirectord %v in %s: %v\n%s\nlog:\n%s", args, director, err, out, e.log())
	}
	return string(out)
}

// in runs a program in the namespace ns: its output, and an error that
// carries it.
func in(ns string, prog string, args ...string) (string, error) {
	out, err := exec.Command("/usr/sbin/ip", append([]string{"netns", "exec", ns, prog}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %w\n%s", prog, strings.Join(args, " "), ns, err, out)
	}
	return string(out), nil
}

// ipvsadm runs ipvsadm with args in the director's namespace.
func (w *failoverWorld) ipvsadm(director string, args ...string) string {
	w.t.Helper()
	out, err := in(director, "/usr/sbin/ipvsadm", args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// table is the director's IPVS table, canonical: services, reals and
// their settings, no counters.
func (w *failoverWorld) table(director string) string {
	w.t.Helper()
	vs, err := ipvsadm.Parse(w.ipvsadm(director, "-Ln"))
	if err != nil {
		w.t.Fatal(err)
	}
	return canonical(vs)
}

// waitTable waits until the director's table, flattened, satisfies cond.
func (w *failoverWorld) waitTable(director, what string, cond func(map[string]int) bool) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := w.ipvsadm(director, "-Ln")
		vs, err := ipvsadm.Parse(out)
		if err == nil && cond(kerneltest.Weights(vs)) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: timed out waiting for %s; ipvsadm -Ln:\n%s\nlog:\n%s", director, what, out, w.dirs[director].log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inPackets is the virtual service's count of packets in, on the director:
// those it forwarded.
func (w *failoverWorld) inPackets(director string) int {
	w.t.Helper()
	out := w.ipvsadm(director, "-Ln", "--stats", "-t", foVIP+":"+foPort)
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[0] == "TCP" {
			n, err := strconv.Atoi(f[3])
			if err == nil {
				return n
			}
		}
	}
	w.t.Fatalf("%s: no packet count in ipvsadm --stats:\n%s", director, out)
	return 0
}

// waitInPackets waits until the director's count of packets in passes
// above; the kernel adds them up every 2 s.
func (w *failoverWorld) waitInPackets(director string, above int) int {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := w.inPackets(director)
		if n > above || time.Now().After(deadline) {
			return n
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// syncEntry is the line of the director's connection table
// (ipvsadm -Lnc) for the client's connection c, "" if none.
func (w *failoverWorld) syncEntry(director string, c *lineConn) string {
	w.t.Helper()
	for _, l := range strings.Split(w.ipvsadm(director, "-Lnc"), "\n") {
		if strings.Contains(l, " "+c.c.LocalAddr().String()+" ") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return ""
}

// floating is an address that moves between the directors: the virtual
// IP, and with masq the reals' gateway, on the director's device, and the
// machines whose neighbour entry for it must follow.
type floating struct {
	addr, dev string
	seenBy    []string
}

func (w *failoverWorld) floating() []floating {
	f := []floating{{foVIP, foIf, []string{foClient}}}
	if w.method == "masq" {
		f = append(f, floating{foGateway, foIf2, foReals})
	}
	return f
}

// moveVIP moves the virtual IP (and the gateway) as IPaddr2 does: off
// from (unless ""), onto to, then a gratuitous ARP from to. If a
// neighbour entry does not follow, that is logged and the entry is
// flushed.
func (w *failoverWorld) moveVIP(from, to string) {
	w.t.Helper()
	for _, f := range w.floating() {
		if from != "" {
			if err := vm.IP("-n", from, "addr", "del", f.addr+"/24", "dev", f.dev); err != nil {
				w.t.Fatal(err)
			}
		}
		if err := vm.IP("-n", to, "addr", "add", f.addr+"/24", "dev", f.dev); err != nil {
			w.t.Fatal(err)
		}
		if from != "" {
			w.announce(to, f)
		}
	}
}

// announce sends the gratuitous ARP for f from director to and waits
// until the machines that use f have its address.
func (w *failoverWorld) announce(to string, f floating) {
	w.t.Helper()
	link, err := in(to, "/usr/sbin/ip", "-br", "link", "show", f.dev)
	if err != nil {
		w.t.Fatal(err)
	}
	mac := strings.Fields(link)[2]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/ip", "netns", "exec", to, "arping", "-U", "-c", "1", "-I", f.dev, f.addr).CombinedOutput()
	w.logf("%s: arping -U -c 1 -I %s %s: %v %s", to, f.dev, f.addr, err, strings.Join(strings.Fields(string(out)), " "))
	for _, ns := range f.seenBy {
		deadline := time.Now().Add(2 * time.Second)
		for {
			neigh, _ := in(ns, "/usr/sbin/ip", "neigh", "show", f.addr)
			if strings.TrimSpace(neigh) == "" {
				w.logf("%s is on %s now; %s has no neighbour entry for it, to ask when it needs one", f.addr, to, ns)
				break
			}
			if strings.Contains(neigh, mac) {
				w.logf("%s is on %s now; %s's neighbour entry: %s", f.addr, to, ns, strings.TrimSpace(neigh))
				break
			}
			if time.Now().After(deadline) {
				w.logf("FINDING: the gratuitous ARP from %s (%s) left %s's neighbour entry %q: flushing it", to, mac, ns, strings.TrimSpace(neigh))
				vm.IP("-n", ns, "neigh", "del", f.addr, "dev", foIf)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// lineConn is the client's connection to the virtual service.
type lineConn struct {
	c net.Conn
	r *bufio.Reader
	n int
}

// dial opens a connection from the client's namespace to the virtual
// service.
func (w *failoverWorld) dial() *lineConn {
	w.t.Helper()
	var c net.Conn
	var err error
	if nerr := inNetns(foClient, func() { c, err = net.DialTimeout("tcp", foVIP+":"+foPort, 10*time.Second) }); nerr != nil {
		w.t.Fatal(nerr)
	}
	if err != nil {
		w.t.Fatalf("connect from %s to %s:%s: %v", foClient, foVIP, foPort, err)
	}
	w.t.Cleanup(func() { c.Close() })
	return &lineConn{c: c, r: bufio.NewReader(c)}
}

// say sends a line and reads its echo within d: the real that answered.
func (l *lineConn) say(d time.Duration) (string, error) {
	l.n++
	line := fmt.Sprintf("line-%d", l.n)
	l.c.SetDeadline(time.Now().Add(d))
	if _, err := fmt.Fprintln(l.c, line); err != nil {
		return "", err
	}
	got, err := l.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	real, echo, _ := strings.Cut(strings.TrimSpace(got), " ")
	if echo != line {
		return real, fmt.Errorf("sent %q, the echo was %q", line, got)
	}
	return real, nil
}

// mustSay has the connection exchange n lines, each answered by want
// ("" for any real): the real that answered.
func (w *failoverWorld) mustSay(l *lineConn, n int, want string) string {
	w.t.Helper()
	start := time.Now()
	var real string
	for i := 0; i < n; i++ {
		got, err := l.say(10 * time.Second)
		if err != nil {
			w.t.Fatalf("the connection %s, line %d: %v", l.c.LocalAddr(), l.n, err)
		}
		if want != "" && got != want {
			w.t.Fatalf("the connection %s, line %d: answered by %s, want %s", l.c.LocalAddr(), l.n, got, want)
		}
		real = got
	}
	w.logf("connection %s: %d lines echoed by %s in %s", l.c.LocalAddr(), n, real, time.Since(start).Round(time.Millisecond))
	return real
}

// freshConns opens n new connections, one line each: the reals that
// answered.
func (w *failoverWorld) freshConns(n int) map[string]int {
	w.t.Helper()
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		c := w.dial()
		seen[w.mustSay(c, 1, "")]++
		c.c.Close()
	}
	return seen
}

// waitSynced waits until the director's connection table has the
// client's connection to real: its line.
func (w *failoverWorld) waitSynced(director string, c *lineConn, real string) string {
	w.t.Helper()
	start := time.Now()
	for {
		e := w.syncEntry(director, c)
		if e != "" && strings.Contains(e, "ESTABLISHED") && strings.Contains(e, w.realAddr(real)) {
			w.logf("%s's ipvsadm -Lnc has the connection %s after %s: %s", director, c.c.LocalAddr(), time.Since(start).Round(time.Millisecond), e)
			return e
		}
		if time.Since(start) > 15*time.Second {
			w.t.Fatalf("%s's ipvsadm -Lnc never had the connection %s to %s (last: %q):\n%s\nsync daemons: %s", director, c.c.LocalAddr(), real,
				e, w.ipvsadm(director, "-Lnc"), w.ipvsadm(director, "-L", "--daemon"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestInVMFailoverDR: direct routing, syncdaemon = both on A and B. A connection opened
// through A is in B's connection table; the virtual IP moves to B and
// the connection goes on through B to the same real, new ones work; it
// moves back and the connection goes on through A. Our daemon on B,
// killed (-9) while standby and started again, changes nothing in B's
// table and leaves its sync daemons running, and B still takes A's
// connections.
func TestInVMFailoverDR(t *testing.T) { failover(t, "gate") }

// TestInVMFailoverMasq: the same with masq, the reals' gateway moving
// with the virtual IP.
func TestInVMFailoverMasq(t *testing.T) { failover(t, "masq") }

func failover(t *testing.T, method string) {
	w := newFailoverWorld(t, method, foSyncCfg)
	for _, d := range []string{foA, foB} {
		out := w.ipvsadm(d, "-L", "--daemon")
		if !strings.Contains(out, "master sync daemon") || !strings.Contains(out, "backup sync daemon") {
			t.Fatalf("%s: ipvsadm -L --daemon says %q, want a master and a backup", d, out)
		}
		w.logf("%s: ipvsadm -L --daemon:\n%s", d, out)
	}

	// 1. A holds the virtual IP; a long-lived connection through A, synced
	// to B.
	w.moveVIP("", foA)
	held := w.dial()
	real := w.mustSay(held, 5, "")
	w.waitSynced(foB, held, real)
	aIn, bIn := w.waitInPackets(foA, 0), w.inPackets(foB)
	w.logf("packets in: %s %d, %s %d", foA, aIn, foB, bIn)

	// 2. The virtual IP moves to B: the same connection goes on through B
	// to the same real; new connections work.
	moved := time.Now()
	w.moveVIP(foA, foB)
	if got, err := held.say(15 * time.Second); err != nil || got != real {
		t.Fatalf("the held connection after the failover to %s: answered by %q (%v), want %s\n%s: ipvsadm -Lnc:\n%s", foB, got, err, real, foB, w.ipvsadm(foB, "-Lnc"))
	}
	w.logf("FAILOVER: the held connection answered by %s through %s, %s after the address moved", real, foB, time.Since(moved).Round(time.Millisecond))
	w.mustSay(held, 5, real)
	if n := w.waitInPackets(foB, bIn); n <= bIn {
		t.Errorf("%s forwarded no packet after the failover (%d in)", foB, n)
	} else {
		w.logf("packets in on %s: %d before the failover, %d after: the connection goes through %s", foB, bIn, n, foB)
	}
	w.logf("%s: ipvsadm -Lnc:\n%s", foB, w.ipvsadm(foB, "-Lnc"))
	seen := w.freshConns(4)
	w.logf("4 new connections through %s: %v", foB, seen)

	// Fail-back: both directors run a master and a backup, so the way
	// back needs no change either.
	aIn = w.inPackets(foA)
	moved = time.Now()
	w.moveVIP(foB, foA)
	if got, err := held.say(15 * time.Second); err != nil || got != real {
		t.Fatalf("the held connection after the fail-back to %s: answered by %q (%v), want %s", foA, got, err, real)
	}
	w.logf("FAIL-BACK: the held connection answered by %s through %s, %s after the address moved", real, foA, time.Since(moved).Round(time.Millisecond))
	w.mustSay(held, 3, real)
	if n := w.waitInPackets(foA, aIn); n <= aIn {
		t.Errorf("%s forwarded no packet after the fail-back (%d in)", foA, n)
	}
	w.logf("%s's ipvsadm -Lnc after the fail-back (synced from %s's master):\n%s", foA, foB, w.ipvsadm(foA, "-Lnc"))

	// 4. kill -9 ours on B, the standby, and start it again: the table and
	// the sync daemons stay as they are.
	w.restartStandby(foB)
	later := w.dial()
	w.waitSynced(foB, later, w.mustSay(later, 3, ""))
	w.mustSay(held, 2, real)
}

// restartStandby kills our daemon on the standby director with SIGKILL
// and starts it again, reading its table every 20 ms all along: the
// table must not change, nor the sync daemons, and the new daemon must
// log no "ipvs change".
func (w *failoverWorld) restartStandby(director string) {
	w.t.Helper()
	e := w.dirs[director]
	before, daemons := w.table(director), w.ipvsadm(director, "-L", "--daemon")
	oldLog := e.log()
	stop := watchTable(before, 20*time.Millisecond, func() (string, bool) {
		out, err := in(director, "/usr/sbin/ipvsadm", "-Ln")
		if err != nil {
			return "", false
		}
		vs, err := ipvsadm.Parse(out)
		return canonical(vs), err == nil
	})
	pid, alive, _ := readPid(e.pidFile("l.cf"))
	if !alive {
		w.t.Fatalf("%s: our daemon does not run", director)
	}
	killed := time.Now()
	if err := sendSignal(pid, syscall.SIGKILL); err != nil {
		w.t.Fatal(err)
	}
	for !processGone(pid) {
		if time.Since(killed) > 10*time.Second {
			w.t.Fatalf("%s: pid %d still there 10 s after SIGKILL", director, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	gone := w.ipvsadm(director, "-L", "--daemon")
	w.ld(director, "start")
	started := time.Since(killed)
	time.Sleep(3 * time.Second) // three rounds of checks
	changed, samples := stop()
	after, daemonsAfter := w.table(director), w.ipvsadm(director, "-L", "--daemon")
	newLog := strings.TrimPrefix(e.log(), oldLog)
	changes := strings.Count(newLog, "ipvs change")
	w.logf("%s: kill -9 of pid %d; sync daemons with no daemon of ours:\n%s", director, pid, gone)
	w.logf("%s: started again %s after the kill; %d reads of the table until 3 s later; \"ipvs change\" lines since: %d; sync daemons now:\n%s",
		director, started.Round(time.Millisecond), samples, changes, daemonsAfter)
	w.logf("%s: the new daemon's log:\n%s", director, firstLines(newLog, 20))
	if changed != "" || after != before {
		w.t.Errorf("%s: the table changed across kill -9 and start:\nbefore:\n%s\nseen:\n%s\nafter:\n%s", director, before, changed, after)
	}
	if changes != 0 {
		w.t.Errorf("%s: the new daemon logged %d \"ipvs change\" lines", director, changes)
	}
	if daemonsAfter != daemons || gone != daemons {
		w.t.Errorf("%s: sync daemons before the kill:\n%s\nafter it:\n%s\nafter the start:\n%s", director, daemons, gone, daemonsAfter)
	}
}

// firstLines is the first n lines of s.
func firstLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[:min(n, len(l))], "\n")
}

// TestInVMFailoverDRWithoutSync: the same pair without syncdaemon. B's
// connection table never has the connection opened through A, and once
// the virtual IP moves to B the connection is broken: B resets it (or it
// goes unanswered). New connections through B work.
func TestInVMFailoverDRWithoutSync(t *testing.T) { failoverWithoutSync(t, "gate") }

// TestInVMFailoverMasqWithoutSync: the same with masq.
func TestInVMFailoverMasqWithoutSync(t *testing.T) { failoverWithoutSync(t, "masq") }

func failoverWithoutSync(t *testing.T, method string) {
	w := newFailoverWorld(t, method, "")
	for _, d := range []string{foA, foB} {
		if out := w.ipvsadm(d, "-L", "--daemon"); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: ipvsadm -L --daemon says %q without syncdaemon", d, out)
		}
	}
	w.moveVIP("", foA)
	held := w.dial()
	real := w.mustSay(held, 5, "")
	time.Sleep(4 * time.Second) // two of the sync daemons' flushes, were there any
	if e := w.syncEntry(foB, held); e != "" {
		t.Fatalf("%s has the connection without a sync daemon: %s", foB, e)
	}
	w.logf("%s's ipvsadm -Lnc has no entry for %s (answered by %s)", foB, held.c.LocalAddr(), real)

	moved := time.Now()
	w.moveVIP(foA, foB)
	got, err := held.say(8 * time.Second)
	if err == nil {
		t.Fatalf("the held connection answered by %s after the failover without a sync daemon: want it broken", got)
	}
	w.logf("WITHOUT SYNC: the held connection after the failover: %v (%s after the address moved)", err, time.Since(moved).Round(time.Millisecond))
	seen := w.freshConns(4)
	w.logf("4 new connections through %s: %v", foB, seen)
}
