package perlref

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// wait bounds every table change: Perl checks each second, and a loaded
// 2-core machine may be slow.
const wait = 60 * time.Second

// realServer is an HTTP server that can be stopped and started again on
// the same address.
type realServer struct {
	t    testing.TB
	addr string
	srv  *http.Server
}

func newRealServer(t testing.TB, host string) *realServer {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	r := &realServer{t: t, addr: ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *realServer) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok\n")
	})}
	go r.srv.Serve(ln)
}

func (r *realServer) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *realServer) start() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("listen again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *realServer) ap() netip.AddrPort { return netip.MustParseAddrPort(r.addr) }

// dests returns the destinations of the TCP service at vip as
// "addr:port/weight", or nil when the service is missing.
func dests(vs []kernel.Virtual, vip string) map[string]int {
	for _, v := range vs {
		if v.Service.FWMark == 0 && netip.AddrPortFrom(v.Service.Addr, v.Service.Port).String() == vip {
			out := map[string]int{}
			for _, d := range v.Destinations {
				out[netip.AddrPortFrom(d.Addr, d.Port).String()] = d.Weight
			}
			return out
		}
	}
	return nil
}

// is returns a table predicate: the service at vip has exactly these
// destinations with these weights.
func is(vip string, want map[string]int) func([]kernel.Virtual) bool {
	return func(vs []kernel.Virtual) bool {
		got := dests(vs, vip)
		if got == nil || len(got) != len(want) {
			return false
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || g != w {
				return false
			}
		}
		return true
	}
}

const fallback = "127.0.0.1:9"

func httpConfig(quiescent string, r1, r2 *realServer) string {
	return fmt.Sprintf(`checktimeout=3
checkinterval=1
quiescent=%s
virtual=127.0.0.1:80
	real=%s masq
	real=%s masq
	fallback=%s masq
	service=http
	request="index.html"
	receive="ok"
	scheduler=wrr
	protocol=tcp
	checktype=negotiate
`, quiescent, r1.addr, r2.addr, fallback)
}

// TestHTTPNegotiate follows Perl through the life of a virtual service with
// two HTTP real servers: both up, one down, back, all down, stop.
func TestHTTPNegotiate(t *testing.T) {
	Require(t, "LWP::UserAgent=libwww-perl")
	r1, r2 := newRealServer(t, "127.0.0.2"), newRealServer(t, "127.0.0.3")
	in := Start(t, httpConfig("no", r1, r2), Options{})
	vip := "127.0.0.1:80"

	in.WaitTable(is(vip, map[string]int{r1.addr: 1, r2.addr: 1}), wait)
	r2.stop()
	in.WaitTable(is(vip, map[string]int{r1.addr: 1}), wait)
	r2.start()
	in.WaitTable(is(vip, map[string]int{r1.addr: 1, r2.addr: 1}), wait)
	r1.stop()
	r2.stop()
	in.WaitTable(is(vip, map[string]int{fallback: 1}), wait)

	in.Stop()
	if got := in.Table(); len(got) != 0 {
		t.Errorf("after SIGTERM the table has %d services, want none (cleanstop = yes)", len(got))
	}
	changes := strings.Join(in.Changes(), "\n")
	for _, want := range []string{
		"-A -t 127.0.0.1:80 -s wrr",
		"-a -t 127.0.0.1:80 -x 0 -y 0 -r " + r1.addr + " -m -w 1",
		"-d -t 127.0.0.1:80 -r " + r2.addr,
		"-a -t 127.0.0.1:80 -x 0 -y 0 -r " + fallback + " -m -w 1",
		"-D -t 127.0.0.1:80",
	} {
		if !strings.Contains(changes, want) {
			t.Errorf("ipvsadm calls lack %q; calls:\n%s", want, changes)
		}
	}
	t.Logf("ipvsadm calls:\n%s", changes)
}

// TestHTTPNegotiateQuiescent is the same story with quiescent = yes: a
// failed real server stays with weight 0.
func TestHTTPNegotiateQuiescent(t *testing.T) {
	Require(t, "LWP::UserAgent=libwww-perl")
	r1, r2 := newRealServer(t, "127.0.0.2"), newRealServer(t, "127.0.0.3")
	in := Start(t, httpConfig("yes", r1, r2), Options{})
	vip := "127.0.0.1:80"

	in.WaitTable(is(vip, map[string]int{r1.addr: 1, r2.addr: 1}), wait)
	r2.stop()
	in.WaitTable(is(vip, map[string]int{r1.addr: 1, r2.addr: 0}), wait)
	r2.start()
	in.WaitTable(is(vip, map[string]int{r1.addr: 1, r2.addr: 1}), wait)
	r1.stop()
	r2.stop()
	in.WaitTable(is(vip, map[string]int{r1.addr: 0, r2.addr: 0, fallback: 1}), wait)

	in.Stop()
	if got := in.Table(); len(got) != 0 {
		t.Errorf("after SIGTERM the table has %d services, want none (cleanstop = yes)", len(got))
	}
	changes := strings.Join(in.Changes(), "\n")
	if !strings.Contains(changes, "-e -t 127.0.0.1:80 -r "+r2.addr+" -m -w 0") {
		t.Errorf("ipvsadm calls lack the quiescing edit of %s; calls:\n%s", r2.addr, changes)
	}
	t.Logf("ipvsadm calls:\n%s", changes)
}

// TestQuirks pins down the Perl behaviours that PERL_BEHAVIOUR.md tells
// the daemon engineer about, so that the document stays true.
func TestQuirks(t *testing.T) {
	in := Start(t, `checkinterval=1
fallback=127.0.0.1:80 gate
virtual=3
	real=127.0.6.2 gate
	checktype=off
virtual=127.0.6.240:80
	real=127.0.6.2:8080 gate
	checktype=on
virtual=127.0.6.241:80
	real=127.0.6.3:8080 masq 4
	quiescent=yes
	checktype=off
`, Options{})
	want := map[string]int{"127.0.6.3:8080": 0, "127.0.0.1:80": 1}
	in.WaitTable(is("127.0.6.241:80", want), wait)
	vs := in.WaitTable(is("127.0.6.240:80", map[string]int{"127.0.6.2:80": 1}), wait)
	calls := in.Changes()
	index := func(c string) int {
		for i, x := range calls {
			if x == c {
				return i
			}
		}
		return -1
	}

	// A firewall-mark virtual never gets the global fallback: Perl keeps
	// global fallbacks for tcp and udp only and writes "-r :0", which
	// ipvsadm refuses.
	if index("-a -f 3 -x 0 -y 0 -r :0 -w 1") < 0 {
		t.Errorf("no \"-r :0\" fallback call for the firewall-mark virtual; calls:\n%s", strings.Join(calls, "\n"))
	}
	for _, v := range vs {
		if v.Service.FWMark == 3 && len(v.Destinations) != 0 {
			t.Errorf("FWM 3 has destinations %v, want none", v.Destinations)
		}
	}

	// With quiescent = yes, a real server that was never checked is first
	// added at its full weight, then quiesced.
	add := index("-a -t 127.0.6.241:80 -x 0 -y 0 -r 127.0.6.3:8080 -m -w 4")
	quiesce := index("-e -t 127.0.6.241:80 -r 127.0.6.3:8080 -m -w 0")
	if add < 0 || quiesce < add {
		t.Errorf("want the real added at weight 4 (call %d) before it is quiesced (call %d); calls:\n%s",
			add, quiesce, strings.Join(calls, "\n"))
	}

	// At start the fallback of a virtual whose real is up goes in, and
	// out again once the real is added.
	fbIn := index("-a -t 127.0.6.240:80 -x 0 -y 0 -r 127.0.0.1:80 -g -w 1")
	fbOut := index("-d -t 127.0.6.240:80 -r 127.0.0.1:80")
	if fbIn < 0 || fbOut < fbIn {
		t.Errorf("want the fallback added (call %d) then deleted (call %d) at start; calls:\n%s",
			fbIn, fbOut, strings.Join(calls, "\n"))
	}

	// A gatewaying real server gets the virtual's port: ipvsadm rewrites
	// 127.0.6.2:8080 to 127.0.6.2:80, and Perl finds it there again.
	if index("-a -t 127.0.6.240:80 -x 0 -y 0 -r 127.0.6.2:8080 -g -w 1") < 0 {
		t.Errorf("Perl did not add the gatewaying real with its own port 8080; calls:\n%s", strings.Join(calls, "\n"))
	}
}

// TestStartOverExistingTable shows what Perl does with a table it finds at
// start: its own virtual is edited in place (-E), a real server already in
// at the right weight is left alone, an unknown real server of its virtual
// is purged, and a virtual service that is not in the configuration is
// left alone.
func TestStartOverExistingTable(t *testing.T) {
	svc := kernel.Service{Protocol: "tcp", Addr: netip.MustParseAddr("127.0.6.240"), Port: 80, Scheduler: "wlc"}
	foreign := kernel.Service{Protocol: "tcp", Addr: netip.MustParseAddr("127.0.6.250"), Port: 443, Scheduler: "rr"}
	dest := func(a string, w int) kernel.Destination {
		return kernel.Destination{Addr: netip.MustParseAddr(a), Port: 80, Method: kernel.Gate, Weight: w}
	}
	in := Start(t, `checkinterval=1
virtual=127.0.6.240:80
	real=127.0.6.2:80 gate
	real=127.0.6.3:80 gate 2
	scheduler=rr
	checktype=on
`, Options{Table: []kernel.Virtual{
		{Service: svc, Destinations: []kernel.Destination{dest("127.0.6.2", 1), dest("127.0.6.9", 1)}},
		{Service: foreign, Destinations: []kernel.Destination{dest("127.0.6.4", 1)}},
	}})
	vs := in.WaitTable(is("127.0.6.240:80", map[string]int{"127.0.6.2:80": 1, "127.0.6.3:80": 2}), wait)
	if got := dests(vs, "127.0.6.250:443"); len(got) != 1 {
		t.Errorf("the foreign virtual 127.0.6.250:443 has %v, want it left with its one real", got)
	}
	for _, v := range vs {
		if v.Service.Port == 80 && v.Service.Scheduler != "rr" {
			t.Errorf("scheduler of 127.0.6.240:80 is %q, want rr after -E", v.Service.Scheduler)
		}
	}
	calls := strings.Join(in.Changes(), "\n")
	for _, want := range []string{"-E -t 127.0.6.240:80 -s rr", "-d -t 127.0.6.240:80 -r 127.0.6.9:80"} {
		if !strings.Contains(calls, want) {
			t.Errorf("calls lack %q:\n%s", want, calls)
		}
	}
	if strings.Contains(calls, "-a -t 127.0.6.240:80 -x 0 -y 0 -r 127.0.6.2:80") {
		t.Errorf("Perl re-added 127.0.6.2:80, which was already in at its weight:\n%s", calls)
	}
	in.Stop()
	vs = in.Table()
	if len(vs) != 1 || vs[0].Service.Key() != foreign.Key() {
		t.Errorf("after stop the table is %v, want only the foreign virtual", vs)
	}
	t.Logf("calls:\n%s", calls)
}

// TestReload shows a reload (SIGHUP after the file changed): it runs the
// start sequence again over the table. A kept real server whose weight
// changed is edited in place, never taken out; a real server that left the
// configuration is deleted; a virtual that left it is deleted with -D.
func TestReload(t *testing.T) {
	in := Start(t, `checkinterval=1
virtual=127.0.6.240:80
	real=127.0.6.2:80 gate
	real=127.0.6.3:80 gate 2
	checktype=on
virtual=127.0.6.241:80
	real=127.0.6.4:80 gate
	checktype=on
`, Options{})
	in.WaitTable(is("127.0.6.240:80", map[string]int{"127.0.6.2:80": 1, "127.0.6.3:80": 2}), wait)
	in.WaitTable(is("127.0.6.241:80", map[string]int{"127.0.6.4:80": 1}), wait)
	before := len(in.Changes())

	in.Reload(`checkinterval=1
virtual=127.0.6.240:80
	real=127.0.6.2:80 gate 5
	real=127.0.6.5:80 masq
	scheduler=rr
	checktype=on
virtual=127.0.6.242:80
	real=127.0.6.4:80 gate
	checktype=on
`)
	vs := in.WaitTable(is("127.0.6.240:80", map[string]int{"127.0.6.2:80": 5, "127.0.6.5:80": 1}), wait)
	vs = in.WaitTable(is("127.0.6.242:80", map[string]int{"127.0.6.4:80": 1}), wait)
	if dests(vs, "127.0.6.241:80") != nil {
		t.Errorf("127.0.6.241:80 is still in the table after it left the configuration")
	}
	calls := in.Changes()[before:]
	joined := strings.Join(calls, "\n")
	for _, want := range []string{
		"-E -t 127.0.6.240:80 -s rr",
		"-A -t 127.0.6.242:80 -s wrr",
		"-e -t 127.0.6.240:80 -x 0 -y 0 -r 127.0.6.2:80 -g -w 5",
		"-d -t 127.0.6.240:80 -r 127.0.6.3:80",
		"-D -t 127.0.6.241:80",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("reload calls lack %q:\n%s", want, joined)
		}
	}
	for _, c := range calls {
		if strings.HasPrefix(c, "-d -t 127.0.6.240:80 -r 127.0.6.2:80") {
			t.Errorf("the kept real 127.0.6.2:80 was deleted during reload:\n%s", joined)
		}
	}
	t.Logf("reload calls:\n%s", joined)
}

// TestFailureCount shows failurecount: a failing real server stays in
// through failurecount-1 soft failures, each logged, and is deleted on the
// last one.
func TestFailureCount(t *testing.T) {
	Require(t, "LWP::UserAgent=libwww-perl")
	r1, r2 := newRealServer(t, "127.0.0.2"), newRealServer(t, "127.0.0.3")
	cfg := strings.Replace(httpConfig("no", r1, r2), "checkinterval=1\n", "checkinterval=1\nfailurecount=3\n", 1)
	in := Start(t, cfg, Options{})
	vip := "127.0.0.1:80"
	in.WaitTable(is(vip, map[string]int{r1.addr: 1, r2.addr: 1}), wait)
	r2.stop()
	in.WaitTable(is(vip, map[string]int{r1.addr: 1}), wait)
	out := in.OutputText()
	for _, want := range []string{
		"Soft failure real server: " + r2.addr + " (tcp:127.0.0.1:80) failure 1/3",
		"Soft failure real server: " + r2.addr + " (tcp:127.0.0.1:80) failure 2/3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ldirectord output lacks %q", want)
		}
	}
	if strings.Contains(out, "failure 3/3") {
		t.Errorf("ldirectord logged a soft failure 3/3; the third failure should delete the real server")
	}
}

// TestReaddQuiescent shows readdquiescent = yes at start: a real server
// that is not in the table is added straight at weight 0, never at its
// full weight.
func TestReaddQuiescent(t *testing.T) {
	in := Start(t, `checkinterval=1
quiescent=yes
readdquiescent=yes
virtual=127.0.6.240:80
	real=127.0.6.2:80 gate 3
	checktype=off
`, Options{})
	in.WaitTable(is("127.0.6.240:80", map[string]int{"127.0.6.2:80": 0}), wait)
	calls := strings.Join(in.Changes(), "\n")
	if !strings.Contains(calls, "-a -t 127.0.6.240:80 -r 127.0.6.2:80 -g -w 0") {
		t.Errorf("calls lack the quiescent add at weight 0:\n%s", calls)
	}
	if strings.Contains(calls, "-w 3") {
		t.Errorf("the real server was put in at its full weight:\n%s", calls)
	}
	t.Logf("calls:\n%s", calls)
}

// TestStaleFallbackAtStart: when Perl starts over a table that has both
// an up real server and the fallback, it deletes the fallback (restoring a
// real server turns the fallback off) and leaves the real server alone.
func TestStaleFallbackAtStart(t *testing.T) {
	svc := kernel.Service{Protocol: "tcp", Addr: netip.MustParseAddr("127.0.6.240"), Port: 80, Scheduler: "wrr"}
	in := Start(t, `checkinterval=1
virtual=127.0.6.240:80
	real=127.0.6.2:80 gate
	fallback=127.0.0.1:80 gate
	checktype=on
`, Options{Table: []kernel.Virtual{{Service: svc, Destinations: []kernel.Destination{
		{Addr: netip.MustParseAddr("127.0.0.1"), Port: 80, Method: kernel.Gate, Weight: 1},
		{Addr: netip.MustParseAddr("127.0.6.2"), Port: 80, Method: kernel.Gate, Weight: 1},
	}}}})
	in.WaitTable(is("127.0.6.240:80", map[string]int{"127.0.6.2:80": 1}), wait)
	calls := in.Changes()
	want := []string{"-E -t 127.0.6.240:80 -s wrr", "-d -t 127.0.6.240:80 -r 127.0.0.1:80"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}
