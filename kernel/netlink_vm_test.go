package kernel_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/internal/ipvsadm"
	"github.com/ldirectord-go/ldirectord/internal/vm"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// The tests named TestInVM* need a kernel with IPVS. TestVM boots one and
// runs them there, where the harness sets inVMEnv; on the host they skip,
// because TestVM is what runs them.
const inVMEnv = vm.GuestEnv

func inVM(t testing.TB) {
	t.Helper()
	if os.Getenv(inVMEnv) != "1" {
		t.Skip("needs the real kernel: TestVM runs this inside the VM")
	}
}

// openNetlink opens the current namespace's table, empty.
func openNetlink(t testing.TB) kernel.Table {
	t.Helper()
	flush(t)
	tab, err := kernel.NewNetlink()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.(*kernel.Netlink).Close() })
	return tab
}

func flush(t testing.TB) {
	t.Helper()
	runIpvsadm(t, "-C")
}

func runIpvsadm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("/usr/sbin/ipvsadm", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ipvsadmTable reads the table as ipvsadm shows it (-Ln and -Ln
// --thresholds), normalized: the independent witness of what netlink wrote.
func ipvsadmTable(t *testing.T) []kernel.Virtual {
	t.Helper()
	plain, err := ipvsadm.Parse(runIpvsadm(t, "-Ln"))
	if err != nil {
		t.Fatalf("parsing ipvsadm -Ln: %v", err)
	}
	thr, err := ipvsadm.Parse(runIpvsadm(t, "-Ln", "--thresholds"))
	if err != nil {
		t.Fatalf("parsing ipvsadm -Ln --thresholds: %v", err)
	}
	// ipvsadm sorts by its own rules; compare in List's order.
	return sortTable(t, ipvsadm.MergeThresholds(plain, thr))
}

// expectTable checks that netlink's List and ipvsadm both show want.
func expectTable(t *testing.T, tab kernel.Table, want []kernel.Virtual) {
	t.Helper()
	want = sortTable(t, want)
	got, err := tab.List()
	if err != nil {
		t.Fatal(err)
	}
	if !equalTables(got, want) {
		t.Errorf("netlink List:\n got %s\nwant %s", dump(got), dump(want))
	}
	if seen := ipvsadmTable(t); !equalTables(seen, want) {
		t.Errorf("ipvsadm -Ln:\n got %s\nwant %s\n%s", dump(seen), dump(want), runIpvsadm(t, "-Ln"))
	}
}

func equalTables(a, b []kernel.Virtual) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func dump(vs []kernel.Virtual) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n  %+v", v.Service)
		for _, d := range v.Destinations {
			fmt.Fprintf(&b, "\n    -> %+v", d)
		}
	}
	return b.String()
}

var (
	vip4 = netip.MustParseAddr("10.1.0.1")
	vip6 = netip.MustParseAddr("fd00:1::1")
)

func rip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestInVMServices(t *testing.T) {
	inVM(t)
	tab := openNetlink(t)
	svcs := []kernel.Service{
		{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "wrr"},
		{Protocol: "udp", Addr: vip4, Port: 53, Scheduler: "rr", OnePacket: true},
		{Protocol: "tcp", Addr: vip4, Port: 443, Scheduler: "wlc", Persistent: 300, NetmaskBits: 24},
		{Protocol: "tcp", Addr: vip6, Port: 80, Scheduler: "lc"},
		{Protocol: "udp", Addr: vip6, Port: 53, Scheduler: "sh", Flags: []string{"sh-fallback", "sh-port"}, OnePacket: true},
		{Protocol: "tcp", Addr: vip6, Port: 443, Scheduler: "mh", Flags: []string{"mh-port"}, Persistent: 60, NetmaskBits: 64},
		{FWMark: 7, Scheduler: "wlc", Persistent: 10, NetmaskBits: 16},
		{FWMark: 8, IPv6: true, Scheduler: "sed"},
	}
	var want []kernel.Virtual
	for _, s := range svcs {
		if err := tab.AddService(s); err != nil {
			t.Fatal(err)
		}
		want = append(want, kernel.Virtual{Service: s})
	}
	expectTable(t, tab, want)
	// Plain string checks, independent of the parser.
	out := runIpvsadm(t, "-Ln")
	for _, line := range []string{
		"TCP  10.1.0.1:443 wlc persistent 300 mask 255.255.255.0",
		"UDP  10.1.0.1:53 rr ops",
		"UDP  [fd00:1::1]:53 sh (sh-fallback,sh-port) ops",
		"TCP  [fd00:1::1]:443 mh (mh-port) persistent 60 mask 64",
		"FWM  7 wlc persistent 10 mask 255.255.0.0",
		"FWM  8 IPv6 sed",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("ipvsadm -Ln lacks %q:\n%s", line, out)
		}
	}

	// Edit in place: scheduler, persistence, one-packet and flags change.
	edits := []kernel.Service{
		{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "sh", Flags: []string{"sh-port"}, Persistent: 120, NetmaskBits: 28},
		{Protocol: "udp", Addr: vip4, Port: 53, Scheduler: "rr"},
		{Protocol: "tcp", Addr: vip4, Port: 443, Scheduler: "wlc"},
		{FWMark: 8, IPv6: true, Scheduler: "nq", Persistent: 30, NetmaskBits: 48},
	}
	for _, s := range edits {
		if err := tab.UpdateService(s); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if want[i].Service.Key() == s.Key() {
				want[i].Service = s
			}
		}
	}
	expectTable(t, tab, want)
	if out := runIpvsadm(t, "-Ln", "--persistent-conn"); !strings.Contains(out, "TCP  10.1.0.1:80 sh (sh-port) persistent 120 mask 255.255.255.240") {
		t.Errorf("ipvsadm -Ln --persistent-conn lacks the edited service:\n%s", out)
	}

	for _, s := range svcs[:4] {
		if err := tab.DelService(s); err != nil {
			t.Fatal(err)
		}
	}
	expectTable(t, tab, want[4:])
}

// sortTable returns a table normalized and in List's order, which the
// Memory table shares.
func sortTable(t *testing.T, vs []kernel.Virtual) []kernel.Virtual {
	t.Helper()
	m := kernel.NewMemory()
	for _, v := range vs {
		if err := m.AddService(v.Service); err != nil {
			t.Fatal(err)
		}
		for _, d := range v.Destinations {
			if err := m.AddDestination(v.Service, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	sorted, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	return sorted
}

func TestInVMSchedulers(t *testing.T) {
	inVM(t)
	tab := openNetlink(t)
	for _, sched := range []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"} {
		s := kernel.Service{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: sched}
		if err := tab.AddService(s); err != nil {
			t.Errorf("scheduler %s: %v", sched, err)
			continue
		}
		d := kernel.Destination{Addr: rip("10.2.1.2"), Port: 80, Method: kernel.Masq, Weight: 3}
		if err := tab.AddDestination(s, d); err != nil {
			t.Errorf("scheduler %s: %v", sched, err)
		}
		expectTable(t, tab, []kernel.Virtual{{Service: s, Destinations: []kernel.Destination{d}}})
		line := regexp.MustCompile(`(?m)^TCP  10\.1\.0\.1:80 ` + sched + `\s*$`)
		if out := runIpvsadm(t, "-Ln"); !line.MatchString(out) {
			t.Errorf("ipvsadm -Ln does not show scheduler %s:\n%s", sched, out)
		}
		if err := tab.DelService(s); err != nil {
			t.Fatal(err)
		}
	}
	err := tab.AddService(kernel.Service{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "nosuch"})
	if !errors.Is(err, kernel.ErrNotExist) {
		t.Errorf("unknown scheduler: err = %v, want ErrNotExist (the kernel's ENOENT)", err)
	}
}

func TestInVMDestinations(t *testing.T) {
	inVM(t)
	tab := openNetlink(t)
	s4 := kernel.Service{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "wrr"}
	s6 := kernel.Service{Protocol: "udp", Addr: vip6, Port: 53, Scheduler: "wlc"}
	fw := kernel.Service{FWMark: 9, Scheduler: "rr"}
	d4 := []kernel.Destination{
		{Addr: rip("10.2.1.2"), Port: 8080, Method: kernel.Masq, Weight: 0},
		{Addr: rip("10.2.1.3"), Port: 80, Method: kernel.Gate, Weight: 1},
		{Addr: rip("10.2.1.4"), Port: 80, Method: kernel.IPIP, Weight: 65535, Upper: 1000, Lower: 100},
		{Addr: rip("10.2.1.5"), Port: 81, Method: kernel.Masq, Weight: 32768, Upper: 5},
	}
	d6 := []kernel.Destination{
		{Addr: rip("fd00:2::2"), Port: 5353, Method: kernel.Masq, Weight: 7},
		{Addr: rip("fd00:2::3"), Port: 53, Method: kernel.Gate, Weight: 65535, Upper: 10, Lower: 2},
	}
	dfw := []kernel.Destination{
		{Addr: rip("10.2.2.2"), Port: 0, Method: kernel.Gate, Weight: 2},
		{Addr: rip("10.2.2.3"), Port: 443, Method: kernel.Masq, Weight: 4},
	}
	want := []kernel.Virtual{{Service: s4, Destinations: d4}, {Service: s6, Destinations: d6}, {Service: fw, Destinations: dfw}}
	for _, v := range want {
		if err := tab.AddService(v.Service); err != nil {
			t.Fatal(err)
		}
		for _, d := range v.Destinations {
			if err := tab.AddDestination(v.Service, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	expectTable(t, tab, want)
	out := runIpvsadm(t, "-Ln")
	for _, line := range []string{
		"  -> 10.2.1.2:8080                Masq    0      0          0",
		"  -> 10.2.1.3:80                  Route   1      0          0",
		"  -> 10.2.1.4:80                  Tunnel  65535  0          0",
		"  -> [fd00:2::2]:5353",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("ipvsadm -Ln lacks %q:\n%s", line, out)
		}
	}
	if out := runIpvsadm(t, "-Ln", "--thresholds"); !strings.Contains(out, "  -> 10.2.1.4:80                  1000       100") {
		t.Errorf("ipvsadm -Ln --thresholds lacks 10.2.1.4's 1000/100:\n%s", out)
	}

	// Edit in place: method, weight and thresholds.
	edited := []kernel.Destination{
		{Addr: rip("10.2.1.2"), Port: 8080, Method: kernel.Masq, Weight: 65535, Upper: 50, Lower: 40},
		{Addr: rip("10.2.1.3"), Port: 80, Method: kernel.IPIP, Weight: 0},
		{Addr: rip("10.2.1.4"), Port: 80, Method: kernel.Gate, Weight: 1},
		d4[3],
	}
	for _, d := range edited[:3] {
		if err := tab.UpdateDestination(s4, d); err != nil {
			t.Fatal(err)
		}
	}
	want[0].Destinations = edited
	if err := tab.UpdateDestination(s6, kernel.Destination{Addr: rip("fd00:2::2"), Port: 5353, Method: kernel.Masq, Weight: 0}); err != nil {
		t.Fatal(err)
	}
	want[1].Destinations[0].Weight = 0
	expectTable(t, tab, want)

	if err := tab.DelDestination(s4, edited[0]); err != nil {
		t.Fatal(err)
	}
	if err := tab.DelDestination(fw, dfw[1]); err != nil {
		t.Fatal(err)
	}
	want[0].Destinations = edited[1:]
	want[2].Destinations = dfw[:1]
	expectTable(t, tab, want)
}

func TestInVMErrors(t *testing.T) {
	inVM(t)
	tab := openNetlink(t)
	s := kernel.Service{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "rr"}
	missing := kernel.Service{Protocol: "udp", Addr: vip4, Port: 80, Scheduler: "rr"}
	d := kernel.Destination{Addr: rip("10.2.1.2"), Port: 80, Method: kernel.Masq, Weight: 1}
	other := kernel.Destination{Addr: rip("10.2.1.9"), Port: 80, Method: kernel.Masq, Weight: 1}
	if err := tab.AddService(s); err != nil {
		t.Fatal(err)
	}
	if err := tab.AddDestination(s, d); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"add existing service", tab.AddService(s), kernel.ErrExist},
		{"edit missing service", tab.UpdateService(missing), kernel.ErrNotExist},
		{"delete missing service", tab.DelService(missing), kernel.ErrNotExist},
		{"add existing destination", tab.AddDestination(s, d), kernel.ErrExist},
		{"add destination to missing service", tab.AddDestination(missing, d), kernel.ErrNotExist},
		{"edit missing destination", tab.UpdateDestination(s, other), kernel.ErrNotExist},
		{"delete missing destination", tab.DelDestination(s, other), kernel.ErrNotExist},
		{"edit destination of missing service", tab.UpdateDestination(missing, d), kernel.ErrNotExist},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		} else {
			t.Logf("%s: %v", tc.name, tc.err)
		}
	}
	// The lower threshold may not pass the upper one: the kernel says ERANGE,
	// which is neither sentinel.
	bad := kernel.Destination{Addr: rip("10.2.1.3"), Port: 80, Method: kernel.Masq, Weight: 1, Upper: 5, Lower: 10}
	if err := tab.AddDestination(s, bad); err == nil || errors.Is(err, kernel.ErrExist) || errors.Is(err, kernel.ErrNotExist) {
		t.Errorf("lower threshold above upper: err = %v, want the kernel's range error", err)
	}
	// Failed calls left the table as it was.
	expectTable(t, tab, []kernel.Virtual{{Service: s, Destinations: []kernel.Destination{d}}})
}

func TestInVMNamespace(t *testing.T) {
	inVM(t)
	flush(t)
	if out, err := exec.Command("/usr/sbin/ip", "netns", "add", "ipvs-test").CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	defer exec.Command("/usr/sbin/ip", "netns", "del", "ipvs-test").Run()
	tab, err := kernel.NewNetlinkInNamespace("ipvs-test")
	if err != nil {
		t.Fatal(err)
	}
	defer tab.(*kernel.Netlink).Close()
	s := kernel.Service{Protocol: "tcp", Addr: vip4, Port: 8080, Scheduler: "rr"}
	if err := tab.AddService(s); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/sbin/ip", "netns", "exec", "ipvs-test", "/usr/sbin/ipvsadm", "-Ln").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "TCP  10.1.0.1:8080 rr") {
		t.Errorf("ipvsadm in namespace ipvs-test does not show the service (%v):\n%s", err, out)
	}
	if vs := ipvsadmTable(t); len(vs) != 0 {
		t.Errorf("the service leaked into the current namespace: %s", dump(vs))
	}
	vs, err := tab.List()
	if err != nil || len(vs) != 1 || vs[0].Service.Key() != s.Key() {
		t.Errorf("List in the namespace = %v, %v; want just %s", vs, err, s.Key())
	}
	if _, err := kernel.NewNetlinkInNamespace("no-such-namespace"); err == nil {
		t.Error("NewNetlinkInNamespace of a missing namespace succeeded")
	}
}

// TestInVMAdoption builds a table with ipvsadm, as the Perl ldirectord or an
// operator would, and lets Sync adopt it: only what differs changes, and a
// service that is not ours stays.
func TestInVMAdoption(t *testing.T) {
	inVM(t)
	tab := openNetlink(t)
	for _, args := range [][]string{
		{"-A", "-t", "10.1.0.1:80", "-s", "wrr"},
		{"-a", "-t", "10.1.0.1:80", "-r", "10.2.1.2:80", "-m", "-w", "1"},
		{"-a", "-t", "10.1.0.1:80", "-r", "10.2.1.3:80", "-m", "-w", "2"},
		{"-A", "-u", "[fd00:1::1]:53", "-s", "rr", "-p", "600", "-M", "64"},
		{"-a", "-u", "[fd00:1::1]:53", "-r", "[fd00:2::2]:53", "-g", "-w", "5", "-x", "100", "-y", "10"},
		{"-A", "-t", "10.9.9.9:22", "-s", "lc"}, // someone else's
		{"-a", "-t", "10.9.9.9:22", "-r", "10.9.9.10:22", "-m"},
	} {
		runIpvsadm(t, args...)
	}
	web := kernel.Service{Protocol: "tcp", Addr: vip4, Port: 80, Scheduler: "wrr"}
	dns := kernel.Service{Protocol: "udp", Addr: vip6, Port: 53, Scheduler: "rr", Persistent: 600, NetmaskBits: 64}
	desired := []kernel.Virtual{
		{Service: web, Destinations: []kernel.Destination{
			{Addr: rip("10.2.1.2"), Port: 80, Method: kernel.Masq, Weight: 1},
			{Addr: rip("10.2.1.3"), Port: 80, Method: kernel.Masq, Weight: 0}, // quiesced
			{Addr: rip("10.2.1.4"), Port: 80, Method: kernel.Masq, Weight: 1}, // new
		}},
		{Service: dns, Destinations: []kernel.Destination{
			{Addr: rip("fd00:2::2"), Port: 53, Method: kernel.Gate, Weight: 5, Upper: 100, Lower: 10},
		}},
	}
	ours := map[kernel.ServiceKey]bool{web.Key(): true, dns.Key(): true}
	owned := func(k kernel.ServiceKey) bool { return ours[k] }
	changes, err := kernel.Sync(tab, desired, owned)
	if err != nil {
		t.Fatal(err)
	}
	got := kerneltest.Commands(changes)
	want := []string{
		"-e -t 10.1.0.1:80 -r 10.2.1.3:80 -m -w 0",
		"-a -t 10.1.0.1:80 -r 10.2.1.4:80 -m -w 1",
	}
	if !sameSet(got, want) {
		t.Errorf("adoption changes:\n got %q\nwant %q (in some order)", got, want)
	}
	foreign := kernel.Virtual{Service: kernel.Service{Protocol: "tcp", Addr: rip("10.9.9.9"), Port: 22, Scheduler: "lc"},
		Destinations: []kernel.Destination{{Addr: rip("10.9.9.10"), Port: 22, Method: kernel.Masq, Weight: 1}}}
	expectTable(t, tab, append([]kernel.Virtual{desired[0], foreign}, desired[1]))

	// What List reads back is what Add wrote: a second pass changes nothing.
	if changes, err := kernel.Sync(tab, desired, owned); err != nil || len(changes) != 0 {
		t.Errorf("second Sync: changes %v, err %v; want none", changes, err)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s]--; seen[s] < 0 {
			return false
		}
	}
	return true
}
