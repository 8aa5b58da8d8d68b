package conf

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestSyncDaemonDirective: syncdaemon takes a state, an interface and
// options, warns as an extension, prints back what was set, and refuses
// anything else with the file and the line.
func TestSyncDaemonDirective(t *testing.T) {
	good := []struct {
		line  string
		want  SyncDaemon
		print string
	}{
		{"syncdaemon = master eth1", SyncDaemon{State: SyncMaster, Interface: "eth1"}, "master eth1"},
		{"syncdaemon = backup eth1 syncid=0", SyncDaemon{State: SyncBackup, Interface: "eth1"}, "backup eth1"},
		{`syncdaemon = "both bond0.12 syncid=10"`, SyncDaemon{State: SyncBoth, Interface: "bond0.12", SyncID: 10}, "both bond0.12 syncid=10"},
		{"syncdaemon = master\teth1  maxlen=1472 ttl=4 port=8849 group=239.1.2.3 syncid=255",
			SyncDaemon{State: SyncMaster, Interface: "eth1", SyncID: 255, Group: netip.MustParseAddr("239.1.2.3"), Port: 8849, TTL: 4, MaxLen: 1472},
			"master eth1 syncid=255 group=239.1.2.3 port=8849 ttl=4 maxlen=1472"},
		{"syncdaemon = backup enp0s3-sync group=ff02::81 port=1 ttl=255 maxlen=576",
			SyncDaemon{State: SyncBackup, Interface: "enp0s3-sync", Group: netip.MustParseAddr("ff02::81"), Port: 1, TTL: 255, MaxLen: 576},
			"backup enp0s3-sync group=ff02::81 port=1 ttl=255 maxlen=576"},
	}
	for _, tc := range good {
		cfg := mustParse(t, tc.line+"\n"+block())
		if cfg.Global.SyncDaemon == nil || !reflect.DeepEqual(*cfg.Global.SyncDaemon, tc.want) {
			t.Errorf("%q: SyncDaemon %+v, want %+v", tc.line, cfg.Global.SyncDaemon, tc.want)
			continue
		}
		if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), "test.cf:1: syncdaemon: is an extension") {
			t.Errorf("%q: warnings %v, want one, that it is an extension", tc.line, cfg.Warnings)
		}
		if !bytes.Contains(Format(cfg), []byte("\nsyncdaemon = "+tc.print+"\n")) {
			t.Errorf("%q: Format does not print %q:\n%s", tc.line, tc.print, Format(cfg))
		}
		checkRoundTrip(t, cfg)
	}
	if cfg := mustParse(t, block()); cfg.Global.SyncDaemon != nil || bytes.Contains(Format(cfg), []byte("syncdaemon")) {
		t.Errorf("a sync daemon without the directive: %+v", cfg.Global.SyncDaemon)
	}

	bad := []struct{ value, want string }{
		{"", `"" is not a sync daemon: write master, backup or both`},
		{"master", `"master" is not a sync daemon: write master, backup or both`},
		{"primary eth1", `"primary" is not a sync daemon state`},
		{"master eth1/2", `"eth1/2" is not a network interface name`},
		{"master eth:1", `"eth:1" is not a network interface name`},
		{"master a-name-much-too-long", `"a-name-much-too-long" is not a network interface name`},
		{"master ..", `".." is not a network interface name`},
		{"master eth1 syncid=256", `"syncid=256" is not a sync id: a whole number from 0 to 255`},
		{"master eth1 syncid=-1", `"syncid=-1" is not a sync id`},
		{"master eth1 syncid=", `"syncid=" is not a sync id`},
		{"master eth1 port=0", `"port=0" is not a UDP port: a whole number from 1 to 65535`},
		{"master eth1 port=65536", `"port=65536" is not a UDP port`},
		{"master eth1 ttl=0", `"ttl=0" is not a multicast TTL: a whole number from 1 to 255`},
		{"master eth1 ttl=256", `"ttl=256" is not a multicast TTL`},
		{"master eth1 maxlen=100", `"maxlen=100" is not a largest sync message in bytes: a whole number from 576 to 65507`},
		{"master eth1 maxlen=65508", `"maxlen=65508" is not a largest sync message`},
		{"master eth1 group=10.0.0.1", `"group=10.0.0.1" is not a multicast group`},
		{"master eth1 group=2001:db8::1", `"group=2001:db8::1" is not a multicast group`},
		{"master eth1 group=ff02::1%eth1", `"group=ff02::1%eth1" is not a multicast group`},
		{"master eth1 group=sync.example", `"group=sync.example" is not a multicast group`},
		{"master eth1 mtu=1500", `"mtu=1500" is not an option of syncdaemon`},
		{"master eth1 10", `"10" is not an option of syncdaemon`},
		{"master eth1 syncid=1 syncid=2", `"syncid=2" repeats syncid=: give each option once`},
	}
	for _, tc := range bad {
		got := errorLines(t, "syncdaemon = "+tc.value+"\n"+block())
		if len(got) != 1 || !strings.HasPrefix(got[0], "test.cf:1: syncdaemon: "+tc.want) {
			t.Errorf("%q:\n got %q\nwant test.cf:1: syncdaemon: %s...", tc.value, got, tc.want)
		}
	}
	if got := errorLines(t, block("syncdaemon = master eth1")); len(got) != 1 || !strings.Contains(got[0], "syncdaemon") {
		t.Errorf("syncdaemon in a virtual block: %q, want it refused", got)
	}
}
