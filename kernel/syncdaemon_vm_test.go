package kernel_test

import (
	"errors"
	"net/netip"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ldirectord-go/ldirectord/internal/vm"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// syncDummy makes a dummy interface, up, with an IPv4 address for the
// master's socket to send from; MTU 1500.
func syncDummy(t *testing.T, name, addr string) {
	t.Helper()
	ipCmd(t, "link", "add", name, "type", "dummy")
	t.Cleanup(func() { exec.Command("/usr/sbin/ip", "link", "del", name).Run() })
	ipCmd(t, "addr", "add", addr, "dev", name)
	ipCmd(t, "link", "set", name, "up")
}

// syncTable opens the current namespace's table and stops, when the test
// ends, whatever sync daemon it left running.
func syncTable(t *testing.T) *kernel.Netlink {
	t.Helper()
	tab := openNetlink(t).(*kernel.Netlink)
	t.Cleanup(func() { stopSyncDaemons(tab) })
	return tab
}

// mustStop stops the daemons of states, in order.
func mustStop(t *testing.T, sd kernel.SyncDaemons, states ...string) {
	t.Helper()
	for _, state := range states {
		if err := sd.StopSyncDaemon(state); err != nil {
			t.Fatal(err)
		}
	}
}

func stopSyncDaemons(sd kernel.SyncDaemons) {
	for _, state := range []string{kernel.SyncMaster, kernel.SyncBackup} {
		sd.StopSyncDaemon(state)
	}
}

// "master sync daemon (mcast=sync0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)":
// ipvsadm 1.31's form; older ones stop after the sync ID.
var ipvsadmDaemon = regexp.MustCompile(`(?m)^(master|backup) sync daemon \(mcast=([^,]+), syncid=(\d+)` +
	`(?:, maxlen=(\d+))?(?:, group=([^,]+))?(?:, port=(\d+))?(?:, ttl=(\d+))?\)$`)

// ipvsadmSyncDaemons reads the sync daemons as `ipvsadm -L --daemon` in
// namespace ns ("" for the current one) shows them: the witness of what
// netlink started.
func ipvsadmSyncDaemons(t *testing.T, ns string) []kernel.SyncDaemon {
	t.Helper()
	args := []string{"/usr/sbin/ipvsadm", "-L", "--daemon"}
	if ns != "" {
		args = append([]string{"/usr/sbin/ip", "netns", "exec", ns}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("ipvsadm -L --daemon:\n%s", out)
	var ds []kernel.SyncDaemon
	for _, m := range ipvsadmDaemon.FindAllStringSubmatch(string(out), -1) {
		num := func(s string) uint64 {
			n, _ := strconv.ParseUint(s, 10, 16)
			return n
		}
		d := kernel.SyncDaemon{State: m[1], Interface: m[2], SyncID: uint8(num(m[3])),
			MaxLen: uint16(num(m[4])), Port: uint16(num(m[6])), TTL: uint8(num(m[7]))}
		if m[5] != "" {
			d.Group = netip.MustParseAddr(m[5])
		}
		ds = append(ds, d)
	}
	if text := strings.TrimSpace(string(out)); text != "" && strings.Count(text, "\n")+1 != len(ds) {
		t.Fatalf("ipvsadm -L --daemon: %d daemons understood of:\n%s", len(ds), out)
	}
	return ds
}

// expectSyncDaemons checks that SyncDaemons and ipvsadm both show want.
func expectSyncDaemons(t *testing.T, sd kernel.SyncDaemons, ns string, want ...kernel.SyncDaemon) {
	t.Helper()
	got, err := sd.SyncDaemons()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 || len(want) != 0 {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SyncDaemons:\n got %+v\nwant %+v", got, want)
		}
	}
	if seen := ipvsadmSyncDaemons(t, ns); len(seen) != 0 || len(want) != 0 {
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("ipvsadm -L --daemon:\n got %+v\nwant %+v", seen, want)
		}
	}
}

// TestInVMSyncDaemonConformance holds the kernel to what Memory answers.
func TestInVMSyncDaemonConformance(t *testing.T) {
	inVM(t)
	tab := syncTable(t)
	syncDummy(t, "sync0", "10.97.0.1/24")
	kerneltest.SyncConformance(t, tab, "sync0")
}

func TestInVMSyncDaemons(t *testing.T) {
	inVM(t)
	tab := syncTable(t)
	syncDummy(t, "sync0", "10.97.0.1/24")
	expectSyncDaemons(t, tab, "")

	master := kernel.SyncDaemon{State: kernel.SyncMaster, Interface: "sync0", SyncID: 12}
	if err := tab.StartSyncDaemon(master); err != nil {
		t.Fatal(err)
	}
	expectSyncDaemons(t, tab, "", master.WithDefaults(1500))

	backup := kernel.SyncDaemon{State: kernel.SyncBackup, Interface: "sync0", SyncID: 12,
		Group: netip.MustParseAddr("239.255.0.7"), Port: 9848, TTL: 2, MaxLen: 1400}
	if err := tab.StartSyncDaemon(backup); err != nil {
		t.Fatal(err)
	}
	expectSyncDaemons(t, tab, "", master.WithDefaults(1500), backup)

	err := tab.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncMaster, Interface: "sync0", SyncID: 13})
	if !errors.Is(err, kernel.ErrExist) || !strings.Contains(err.Error(), "starting the master sync daemon on sync0") {
		t.Errorf("a second master: %v, want ErrExist naming it", err)
	}
	t.Logf("a second master: %v", err)

	mustStop(t, tab, kernel.SyncMaster, kernel.SyncBackup)
	expectSyncDaemons(t, tab, "")
	err = tab.StopSyncDaemon(kernel.SyncBackup)
	if !errors.Is(err, kernel.ErrNotExist) || !strings.Contains(err.Error(), "stopping the backup sync daemon") {
		t.Errorf("stopping a missing backup: %v, want ErrNotExist naming it", err)
	}
	t.Logf("a missing backup: %v", err)

	// The kernel's own refusal, wrapped: it names the daemon and the
	// interface and keeps the errno.
	err = tab.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncMaster, Interface: "nosuch0"})
	if !errors.Is(err, syscall.ENODEV) || errors.Is(err, kernel.ErrExist) || errors.Is(err, kernel.ErrNotExist) ||
		!strings.Contains(err.Error(), `starting the master sync daemon on nosuch0`) || !strings.Contains(err.Error(), `no interface "nosuch0"`) {
		t.Errorf("an unknown interface: %v, want ENODEV naming the daemon and the interface", err)
	}
	t.Logf("an unknown interface: %v", err)
	expectSyncDaemons(t, tab, "")
}

// TestInVMSyncDaemonStopAtOnce stops each daemon right after starting it,
// before its thread has run, most times: the kernel then answers nothing
// (kthread_stop's -EINTR), and the stop still succeeds.
func TestInVMSyncDaemonStopAtOnce(t *testing.T) {
	inVM(t)
	tab := syncTable(t)
	syncDummy(t, "sync0", "10.97.0.1/24")
	for range 5 {
		for _, state := range []string{kernel.SyncMaster, kernel.SyncBackup} {
			if err := tab.StartSyncDaemon(kernel.SyncDaemon{State: state, Interface: "sync0"}); err != nil {
				t.Fatal(err)
			}
			mustStop(t, tab, state)
		}
	}
	expectSyncDaemons(t, tab, "")
}

// TestInVMSyncDaemonAdoption starts the daemons with ipvsadm, as an
// operator or the Perl ldirectord's set-up would: SyncDaemons lists them
// with their settings, and they stop through netlink.
func TestInVMSyncDaemonAdoption(t *testing.T) {
	inVM(t)
	tab := syncTable(t)
	syncDummy(t, "sync0", "10.97.0.1/24")
	runIpvsadm(t, "--start-daemon", "master", "--mcast-interface", "sync0", "--syncid", "5")
	runIpvsadm(t, "--start-daemon", "backup", "--mcast-interface", "sync0", "--syncid", "5",
		"--mcast-group", "239.0.0.5", "--mcast-port", "9999", "--mcast-ttl", "4", "--sync-maxlen", "1300")
	master := kernel.SyncDaemon{State: kernel.SyncMaster, Interface: "sync0", SyncID: 5}
	backup := kernel.SyncDaemon{State: kernel.SyncBackup, Interface: "sync0", SyncID: 5,
		Group: netip.MustParseAddr("239.0.0.5"), Port: 9999, TTL: 4, MaxLen: 1300}
	expectSyncDaemons(t, tab, "", master.WithDefaults(1500), backup)
	if err := tab.StartSyncDaemon(master); !errors.Is(err, kernel.ErrExist) {
		t.Errorf("starting the master ipvsadm started: %v, want ErrExist", err)
	}
	mustStop(t, tab, kernel.SyncBackup, kernel.SyncMaster)
	expectSyncDaemons(t, tab, "")
}

// TestInVMSyncDaemonNamespace: a table opened in a namespace starts its
// daemons there, on that namespace's interfaces.
func TestInVMSyncDaemonNamespace(t *testing.T) {
	inVM(t)
	here := syncTable(t)
	p := vm.Peer{NS: "syncns", Host: "vsh", HostAddr: "10.98.0.1/24", PeerDev: "vsp", PeerAddr: "10.98.0.2/24"}
	if err := p.Add(); err != nil {
		t.Fatal(err)
	}
	defer p.Del()
	tab, err := kernel.NewNetlinkInNamespace("syncns")
	if err != nil {
		t.Fatal(err)
	}
	there := tab.(*kernel.Netlink)
	defer there.Close()
	defer stopSyncDaemons(there)

	backup := kernel.SyncDaemon{State: kernel.SyncBackup, Interface: "vsp", SyncID: 3}
	if err := there.StartSyncDaemon(backup); err != nil {
		t.Fatal(err)
	}
	expectSyncDaemons(t, there, "syncns", backup.WithDefaults(1500))
	expectSyncDaemons(t, here, "")

	// vsp is not in this namespace; vsh, its peer, is.
	err = here.StartSyncDaemon(backup)
	if !errors.Is(err, syscall.ENODEV) {
		t.Errorf("a backup on the other namespace's interface: %v, want ENODEV", err)
	}
	t.Logf("the other namespace's interface: %v", err)
	master := kernel.SyncDaemon{State: kernel.SyncMaster, Interface: "vsh", SyncID: 3}
	if err := here.StartSyncDaemon(master); err != nil {
		t.Fatal(err)
	}
	expectSyncDaemons(t, here, "", master.WithDefaults(1500))
	expectSyncDaemons(t, there, "syncns", backup.WithDefaults(1500))
	err = there.StopSyncDaemon(kernel.SyncMaster)
	if !errors.Is(err, kernel.ErrNotExist) ||
		!strings.Contains(err.Error(), "network namespace /var/run/netns/syncns") {
		t.Errorf("stopping a master in the namespace, where none runs: %v, want ErrNotExist naming the namespace", err)
	}
	t.Logf("a master missing in the namespace: %v", err)
}
