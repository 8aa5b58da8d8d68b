package kernel_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/vm"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// ipCmd runs iproute2's ip; busybox's applet lacks netns.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if err := vm.IP(args...); err != nil {
		t.Fatal(err)
	}
}

// startRealServer puts a real server in its own network namespace behind a
// veth pair: 10.2.<n>.2 there, 10.2.<n>.1 on the director's side. It
// answers HTTP with its name.
func startRealServer(t *testing.T, n int) realServer {
	t.Helper()
	ns := fmt.Sprintf("real%d", n)
	p := vm.Peer{NS: ns, Host: fmt.Sprintf("vh%d", n), HostAddr: fmt.Sprintf("10.2.%d.1/24", n),
		PeerDev: fmt.Sprintf("vr%d", n), PeerAddr: fmt.Sprintf("10.2.%d.2/24", n)}
	t.Cleanup(func() { p.Del() })
	if err := p.Add(); err != nil {
		t.Fatal(err)
	}
	ipCmd(t, "-n", ns, "route", "add", "default", "via", fmt.Sprintf("10.2.%d.1", n))

	root := filepath.Join(t.TempDir(), ns)
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(ns+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	httpd := exec.Command("/usr/sbin/ip", "netns", "exec", ns, "/bin/busybox", "httpd", "-f", "-p", "80", "-h", root)
	if err := httpd.Start(); err != nil {
		t.Fatalf("starting busybox httpd in %s: %v", ns, err)
	}
	t.Cleanup(func() { httpd.Process.Kill(); httpd.Wait() })
	addr := fmt.Sprintf("10.2.%d.2:80", n)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("real server %s never answered: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return realServer{ns: ns, addr: fmt.Sprintf("10.2.%d.2", n)}
}

type realServer struct{ ns, addr string }

// get asks the virtual service once, on a new connection, and returns the
// name of the real server that answered.
func get(t *testing.T, url string) string {
	t.Helper()
	return getFrom(t, nil, url)
}

// getFrom is get from a given local address (nil: the kernel's choice).
func getFrom(t *testing.T, local *net.TCPAddr, url string) string {
	t.Helper()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		dialer.LocalAddr = local
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialer.DialContext}, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s through the virtual service: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
	}
	return strings.TrimSpace(string(body))
}

// TestInVMDataPath proves that what netlink writes carries traffic: a
// virtual IP on a dummy interface, two real servers behind it with masq,
// and weight 0 takes one of them out of new connections; then the same two
// behind a second virtual IP with direct routing.
func TestInVMDataPath(t *testing.T) {
	inVM(t)
	tab := openNetlink(t)
	ipCmd(t, "link", "add", "vip0", "type", "dummy")
	t.Cleanup(func() { exec.Command("/usr/sbin/ip", "link", "del", "vip0").Run() })
	ipCmd(t, "link", "set", "vip0", "up")
	ipCmd(t, "addr", "add", vip4.String()+"/32", "dev", "vip0")
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r1, r2 := startRealServer(t, 1), startRealServer(t, 2)

	svc := kernel.Service{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "rr"}
	d1 := kernel.Destination{Addr: rip(r1.addr), Port: 80, Method: kernel.Masq, Weight: 1}
	d2 := kernel.Destination{Addr: rip(r2.addr), Port: 80, Method: kernel.Masq, Weight: 1}
	if err := tab.AddService(svc); err != nil {
		t.Fatal(err)
	}
	for _, d := range []kernel.Destination{d1, d2} {
		if err := tab.AddDestination(svc, d); err != nil {
			t.Fatal(err)
		}
	}
	url := "http://" + vip4.String() + "/"
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		seen[get(t, url)]++
	}
	if seen[r1.ns] == 0 || seen[r2.ns] == 0 || len(seen) != 2 {
		t.Fatalf("round robin over both real servers answered %v, want both %s and %s", seen, r1.ns, r2.ns)
	}
	t.Logf("both real servers answer through %s: %v", url, seen)

	d2.Weight = 0
	if err := tab.UpdateDestination(svc, d2); err != nil {
		t.Fatal(err)
	}
	seen = map[string]int{}
	for i := 0; i < 8; i++ {
		seen[get(t, url)]++
	}
	if len(seen) != 1 || seen[r1.ns] != 8 {
		t.Fatalf("with %s at weight 0, new connections went to %v; want all 8 to %s", r2.ns, seen, r1.ns)
	}
	t.Logf("weight 0 on %s: new connections go only to %s", r2.ns, r1.ns)

	// Direct routing: the packet reaches the real server unchanged, so it
	// holds the virtual IP on its lo, and answers straight to the client.
	// The client speaks from the director's veth address; the answer comes
	// from an address the director owns, which accept_local lets in.
	vipDR := rip("10.1.0.2")
	ipCmd(t, "addr", "add", vipDR.String()+"/32", "dev", "vip0")
	for _, r := range []realServer{r1, r2} {
		ipCmd(t, "-n", r.ns, "addr", "add", vipDR.String()+"/32", "dev", "lo")
	}
	for _, k := range []string{"all/accept_local", "vh1/accept_local", "vh2/accept_local", "all/rp_filter", "vh1/rp_filter", "vh2/rp_filter"} {
		v := "1\n"
		if strings.HasSuffix(k, "rp_filter") {
			v = "0\n"
		}
		if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+k, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dr := kernel.Service{Protocol: "tcp", Addr: vipDR, Port: 80, Scheduler: "rr"}
	if err := tab.AddService(dr); err != nil {
		t.Fatal(err)
	}
	for _, r := range []realServer{r1, r2} {
		if err := tab.AddDestination(dr, kernel.Destination{Addr: rip(r.addr), Port: 80, Method: kernel.Gate, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	from := &net.TCPAddr{IP: net.ParseIP("10.2.1.1")}
	seen = map[string]int{}
	for i := 0; i < 6; i++ {
		seen[getFrom(t, from, "http://"+vipDR.String()+"/")]++
	}
	if seen[r1.ns] == 0 || seen[r2.ns] == 0 || len(seen) != 2 {
		t.Fatalf("direct routing over both real servers answered %v, want both %s and %s", seen, r1.ns, r2.ns)
	}
	t.Logf("direct routing: both real servers answer through %s: %v", vipDR, seen)
	out := runIpvsadm(t, "-Ln", "--stats")
	t.Logf("ipvsadm -Ln --stats:\n%s", out)
}
