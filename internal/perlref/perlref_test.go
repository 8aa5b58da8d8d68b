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
