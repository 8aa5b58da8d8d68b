package kerneltest

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// SyncConformance holds a table's sync daemons to the kernel's answers:
// one master and one backup at most, the errors, and the settings listed
// back with the kernel's defaults. sd must have none running, and has
// none when it passes; iface is an interface it knows, of MTU 1500.
func SyncConformance(t *testing.T, sd kernel.SyncDaemons, iface string) {
	group := netip.MustParseAddr("239.1.2.3")
	steps := []struct {
		what string
		err  error // nil, kernel.ErrExist, kernel.ErrNotExist or errRefused
		call func() error
	}{
		{"stop a missing master", kernel.ErrNotExist, func() error { return sd.StopSyncDaemon(kernel.SyncMaster) }},
		{"stop a missing backup", kernel.ErrNotExist, func() error { return sd.StopSyncDaemon(kernel.SyncBackup) }},
		{"stop an unknown state", errRefused, func() error { return sd.StopSyncDaemon("both") }},
		{"start a master", nil, func() error {
			return sd.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncMaster, Interface: iface, SyncID: 7})
		}},
		{"start a second master", kernel.ErrExist, func() error {
			return sd.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncMaster, Interface: iface, SyncID: 8})
		}},
		{"start a backup beside it", nil, func() error {
			return sd.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncBackup, Interface: iface, SyncID: 7,
				Group: group, Port: 9000, TTL: 3, MaxLen: 100})
		}},
		{"start a second backup", kernel.ErrExist, func() error {
			return sd.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncBackup, Interface: iface})
		}},
		{"no interface", errRefused, func() error { return sd.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncMaster}) }},
		{"an interface name too long", errRefused, func() error {
			return sd.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncMaster, Interface: "a-name-of-16-chr"})
		}},
		{"an unknown state", errRefused, func() error { return sd.StartSyncDaemon(kernel.SyncDaemon{State: "both", Interface: iface}) }},
		{"a group that is not multicast", errRefused, func() error {
			return sd.StartSyncDaemon(kernel.SyncDaemon{State: kernel.SyncMaster, Interface: iface, Group: netip.MustParseAddr("10.0.0.1")})
		}},
	}
	for _, st := range steps {
		if err := st.call(); !isKind(err, st.err) {
			t.Fatalf("%s: got %v, want %v", st.what, err, st.err)
		}
	}
	// The backup's 100 is raised to the kernel's least, 1024; the
	// master's defaults are 224.0.0.81:8848, TTL 1, 1500 less 28.
	want := fmt.Sprintf("[{master %[1]s 7 224.0.0.81 8848 1 1472} {backup %[1]s 7 239.1.2.3 9000 3 1024}]", iface)
	expectSync(t, sd, want)
	if err := sd.StopSyncDaemon(kernel.SyncMaster); err != nil {
		t.Fatal(err)
	}
	expectSync(t, sd, fmt.Sprintf("[{backup %s 7 239.1.2.3 9000 3 1024}]", iface))
	if err := sd.StopSyncDaemon(kernel.SyncMaster); !isKind(err, kernel.ErrNotExist) {
		t.Errorf("stop the stopped master: got %v, want %v", err, kernel.ErrNotExist)
	}
	// An explicit largest message and an IPv6 group: 1500 less 48 is
	// the most a master's default would be, the kernel keeps 1200.
	v6 := kernel.SyncDaemon{State: kernel.SyncMaster, Interface: iface, SyncID: 255,
		Group: netip.MustParseAddr("ff15::81"), Port: 1, TTL: 255, MaxLen: 1200}
	if err := sd.StartSyncDaemon(v6); err != nil {
		t.Fatal(err)
	}
	expectSync(t, sd, fmt.Sprintf("[{master %[1]s 255 ff15::81 1 255 1200} {backup %[1]s 7 239.1.2.3 9000 3 1024}]", iface))
	for _, state := range []string{kernel.SyncBackup, kernel.SyncMaster} {
		if err := sd.StopSyncDaemon(state); err != nil {
			t.Fatal(err)
		}
	}
	expectSync(t, sd, "[]")
}

func expectSync(t *testing.T, sd kernel.SyncDaemons, want string) {
	t.Helper()
	got, err := sd.SyncDaemons()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != want {
		t.Errorf("SyncDaemons = %v\nwant          %s", got, want)
	}
}
