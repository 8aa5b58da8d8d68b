package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/vm"
)

// drain and drain --deadline against the real kernel: a client holds a
// connection through a masq virtual service to one of two real servers in
// network namespaces of their own, the real is drained, and ipvsadm -Ln,
// new connections, the held connection, status --json and the drain
// command's own words say what happened.

// drainWorld is a virtual service on vip (a dummy device holds it) with
// two real servers in namespaces behind veth pairs, 10.4.<n>.2:80 for n
// in ns; each answers HTTP with "alive" and the address it was reached on.
type drainWorld struct {
	e     *env
	vip   string // address:port
	svc   string // the service's key in ipvsadmTable
	reals [2]string
}

func newDrainWorld(t *testing.T, vip string, ns ...int) *drainWorld {
	t.Helper()
	needGuest(t)
	e := newEnv(t)
	w := &drainWorld{e: e, vip: vip + ":80", svc: "ipv4/tcp/" + vip + ":80"}
	dev := fmt.Sprintf("dvip%d", ns[0])
	if err := vm.IP("link", "add", dev, "type", "dummy"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.IP("link", "del", dev) })
	for _, args := range [][]string{{"link", "set", dev, "up"}, {"addr", "add", vip + "/32", "dev", dev}} {
		if err := vm.IP(args...); err != nil {
			t.Fatal(err)
		}
	}
	// masq: the answers come back through the director.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, n := range ns {
		p := vm.Peer{NS: fmt.Sprintf("dr%d", n), Host: fmt.Sprintf("dvh%d", n), HostAddr: fmt.Sprintf("10.4.%d.1/24", n),
			PeerDev: fmt.Sprintf("dvr%d", n), PeerAddr: fmt.Sprintf("10.4.%d.2/24", n)}
		t.Cleanup(func() { p.Del() })
		if err := p.Add(); err != nil {
			t.Fatal(err)
		}
		if err := vm.IP("-n", p.NS, "route", "add", "default", "via", fmt.Sprintf("10.4.%d.1", n)); err != nil {
			t.Fatal(err)
		}
		w.reals[i] = fmt.Sprintf("10.4.%d.2:80", n)
		ln, err := listenIn(p.NS, w.reals[i])
		if err != nil {
			t.Fatalf("listen in %s: %v", p.NS, err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, "alive %s", r.Context().Value(http.LocalAddrContextKey))
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	e.config(fastGlobals + httpVirtual(w.vip, "", w.reals[0]+" masq 1", w.reals[1]+" masq 1"))
	e.mustLd("l.cf", "start")
	t.Cleanup(func() { e.ld("l.cf", "stop") })
	e.waitFor("both reals in at weight 1", all(has(w.key(w.reals[0]), 1), has(w.key(w.reals[1]), 1)))
	return w
}

// key is real's key in ipvsadmTable.
func (w *drainWorld) key(real string) string { return w.svc + " " + real }

// answeredBy reads an HTTP answer of a real server: the address it was
// reached on.
func answeredBy(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(string(body), "alive "), nil
}

// heldConn is a client's keep-alive connection to the virtual service.
type heldConn struct {
	c  net.Conn
	br *bufio.Reader
}

// hold opens a connection to the virtual service, asks over it once and
// waits until status --json counts it active: it reached real, not other.
func (w *drainWorld) hold(t *testing.T) (h *heldConn, real, other string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", w.vip, 10*time.Second)
	if err != nil {
		t.Fatalf("connect to %s: %v", w.vip, err)
	}
	t.Cleanup(func() { c.Close() })
	h = &heldConn{c: c, br: bufio.NewReader(c)}
	real, err = h.ask(10 * time.Second)
	if err != nil {
		t.Fatalf("the held connection: %v", err)
	}
	for i := range w.reals {
		if w.reals[i] == real {
			w.waitActive(t, real, 1)
			return h, real, w.reals[1-i]
		}
	}
	t.Fatalf("the held connection was answered by %q, not a real of %v", real, w.reals)
	return nil, "", ""
}

// ask sends a request over the held connection: the real that answers
// within d.
func (h *heldConn) ask(d time.Duration) (string, error) {
	h.c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(h.c, "GET / HTTP/1.1\r\nHost: vip\r\n\r\n"); err != nil {
		return "", err
	}
	return answeredBy(http.ReadResponse(h.br, nil))
}

// fresh asks the virtual service n times, each on a new connection, and
// counts the reals that answered.
func (w *drainWorld) fresh(t *testing.T, n int) map[string]int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		real, err := answeredBy(client.Get("http://" + w.vip + "/"))
		if err != nil {
			t.Fatalf("a new connection to %s: %v", w.vip, err)
		}
		seen[real]++
	}
	return seen
}

// realJSON is real's object in status --json, read as the manual's schema
// names it.
func (w *drainWorld) realJSON(t *testing.T, real string) map[string]any {
	t.Helper()
	out, errOut, _ := w.e.ld("l.cf", "status", "--json")
	var doc struct {
		Instances []struct {
			Virtuals []struct {
				Reals []map[string]any `json:"reals"`
			} `json:"virtuals"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("status --json printed no JSON (%v): %q, stderr %q", err, out, errOut)
	}
	for _, in := range doc.Instances {
		for _, v := range in.Virtuals {
			for _, r := range v.Reals {
				if r["real"] == real {
					return r
				}
			}
		}
	}
	t.Fatalf("status --json has no real %s:\n%s", real, out)
	return nil
}

// startDrain runs ldirectord drain real with args in the background: its
// output and exit status come on the channel when it ends; start is when
// it began.
func (w *drainWorld) startDrain(t *testing.T, real string, args ...string) (done <-chan drainRun, start time.Time) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{w.e.path("l.cf"), "drain", real}, args...)...)
	cmd.Env = w.e.environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan drainRun, 1)
	start = time.Now()
	go func() {
		err := cmd.Wait()
		ch <- drainRun{out: out.String(), err: err, took: time.Since(start)}
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return ch, start
}

type drainRun struct {
	out  string
	err  error
	took time.Duration
}

// waitDrain waits for the drain command to end, at most d.
func waitDrain(t *testing.T, done <-chan drainRun, d time.Duration) drainRun {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("drain: %v\n%s", r.err, r.out)
		}
		return r
	case <-time.After(d):
		t.Fatalf("the drain command did not end within %s", d)
		return drainRun{}
	}
}

// waitActive waits until status --json counts want active connections
// of real.
func (w *drainWorld) waitActive(t *testing.T, real string, want float64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := w.realJSON(t, real)
		if r["active_connections"] == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("status --json never counted %v active connections of %s: %v", want, real, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestInVMDrain: a client holds a connection to a real server; drain puts
// the real at weight 0, new connections go to the other real, the held one
// keeps working and status --json says draining with 1 active connection;
// the real leaves the table only once the client closes, and drain says
// no active connection was left.
func TestInVMDrain(t *testing.T) {
	w := newDrainWorld(t, "10.9.9.61", 1, 2)
	held, real, other := w.hold(t)

	done, start := w.startDrain(t, real)
	tl := watch(t, 15*time.Second, has(w.key(real), 0), w.key(real), w.key(other))
	if m := ipvsadmTable(t); !has(w.key(real), 0)(m) || !has(w.key(other), 1)(m) {
		t.Fatalf("after drain %s: ipvsadm -Ln %v, want it at weight 0 and the other at 1", real, m)
	}
	t.Logf("drain %s: weight 0 in ipvsadm -Ln %s after the command began: %v", real, time.Since(start).Round(100*time.Millisecond), tl.steps[w.key(real)])

	if seen := w.fresh(t, 6); seen[other] != 6 {
		t.Errorf("new connections while %s drains went to %v, want all 6 to %s", real, seen, other)
	} else {
		t.Logf("6 new connections while draining: %v", seen)
	}
	r := w.waitActive(t, real, 1)
	if r["state"] != "draining" || r["weight_in_table"] != 0.0 {
		t.Errorf("status --json during the drain: %v, want state draining at weight 0 in the table", r)
	}
	t.Logf("status --json during the drain: state %v, weight_in_table %v, active_connections %v, drain %v",
		r["state"], r["weight_in_table"], r["active_connections"], r["drain"])

	// The held connection lives on, and so does the drain, for as long as
	// the client keeps it.
	for n := 0; n < 3; n++ {
		time.Sleep(time.Second)
		if got, err := held.ask(10 * time.Second); err != nil || got != real {
			t.Fatalf("the held connection during the drain: answered by %q (%v), want %s", got, err, real)
		}
	}
	if m := ipvsadmTable(t); !has(w.key(real), 0)(m) {
		t.Errorf("%s left the table while its connection was held: %v", real, m)
	}
	select {
	case r := <-done:
		t.Fatalf("drain ended while the connection was held: %v\n%s", r.err, r.out)
	default:
	}
	t.Logf("held connection answered by %s 3 more times over %s of the drain; still at weight 0", real, time.Since(start).Round(100*time.Millisecond))

	closed := time.Now()
	held.c.Close()
	tl = watch(t, 15*time.Second, lacks(w.key(real)), w.key(real))
	if !lacks(w.key(real))(ipvsadmTable(t)) {
		t.Fatalf("%s still in the table 15 s after the client closed: %v", real, tl.steps[w.key(real)])
	}
	out := time.Since(closed)
	run := waitDrain(t, done, 15*time.Second)
	t.Logf("client closed: %s out of ipvsadm -Ln %s later, drain ended %s after close (ran %s); it said:\n%s",
		real, out.Round(100*time.Millisecond), time.Since(closed).Round(100*time.Millisecond), run.took.Round(100*time.Millisecond), run.out)
	if !strings.Contains(run.out, "drained "+real+" from tcp:"+w.vip) || !strings.Contains(run.out, "no active connection left") {
		t.Errorf("drain said %q, want that %s was drained with no active connection left", run.out, real)
	}
	if m := ipvsadmTable(t); !has(w.key(other), 1)(m) {
		t.Errorf("the other real after the drain: %v, want it at weight 1", m)
	}
	if r := w.realJSON(t, real); r["state"] != "drained" {
		t.Errorf("status --json after the drain: %v, want drained", r)
	}
}

// TestInVMDrainDeadline: with --deadline 3 and a connection held longer,
// the real leaves the table at the deadline, and drain says the deadline
// passed with the connection still active.
func TestInVMDrainDeadline(t *testing.T) {
	w := newDrainWorld(t, "10.9.9.62", 3, 4)
	held, real, other := w.hold(t)

	done, start := w.startDrain(t, real, "--deadline", "3")
	tl := watch(t, 15*time.Second, lacks(w.key(real)), w.key(real), w.key(other))
	left := time.Since(start)
	t.Logf("drain %s --deadline 3 with the connection held: %v; the other real: %v", real, tl.steps[w.key(real)], tl.steps[w.key(other)])
	if !lacks(w.key(real))(ipvsadmTable(t)) {
		t.Fatalf("%s still in the table 15 s after drain --deadline 3", real)
	}
	// The command writes the deadline to the second and the daemon reads
	// the drain directory and the connections each second.
	if left < 2*time.Second || left > 5500*time.Millisecond {
		t.Errorf("%s left the table %s after drain --deadline 3, want about 3 s", real, left.Round(100*time.Millisecond))
	}
	if s := tl.steps[w.key(real)]; len(s) < 2 || s[len(s)-2].w != 0 {
		t.Errorf("%s did not go to weight 0 before it left: %v", real, s)
	}
	run := waitDrain(t, done, 10*time.Second)
	t.Logf("%s left ipvsadm -Ln %s after the command began; drain ran %s and said:\n%s",
		real, left.Round(100*time.Millisecond), run.took.Round(100*time.Millisecond), run.out)
	if !strings.Contains(run.out, "drained "+real+" from tcp:"+w.vip) || !strings.Contains(run.out, "deadline passed with 1 active connection") {
		t.Errorf("drain said %q, want that the deadline passed with 1 active connection", run.out)
	}
	if m := ipvsadmTable(t); !has(w.key(other), 1)(m) {
		t.Errorf("the other real after the drain: %v, want it at weight 1", m)
	}
	// What becomes of the held connection once its real is out is the
	// kernel's business (expire_nodest_conn); it is only told.
	got, err := held.ask(2 * time.Second)
	t.Logf("the held connection after its real left: answered by %q (%v)", got, err)
}
