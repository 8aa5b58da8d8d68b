package kernel

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vishvananda/netlink/nl"
)

// answer wraps a daemon's attributes as the kernel's answer to
// IPVS_CMD_GET_DAEMON carries them: the generic netlink header, then the
// nest.
func answer(a *nl.RtAttr) []byte {
	hdr := &nl.Genlmsg{Command: ipvsCmdNewDaemon, Version: 1}
	return append(hdr.Serialize(), a.Serialize()...)
}

func TestSyncDaemonRoundTrip(t *testing.T) {
	for _, d := range []SyncDaemon{
		{State: SyncMaster, Interface: "eth0"},
		{State: SyncBackup, Interface: "bond0.101", SyncID: 255, Group: netip.MustParseAddr("239.0.0.9"), Port: 9000, TTL: 64, MaxLen: 9000},
		{State: SyncMaster, Interface: "a-name-of-15-ch", SyncID: 1, Group: netip.MustParseAddr("ff15::81"), Port: 1, TTL: 1, MaxLen: 1},
	} {
		a, err := encodeSyncDaemon(d)
		if err != nil {
			t.Fatalf("encode %+v: %v", d, err)
		}
		got, err := decodeSyncDaemon(answer(a))
		if err != nil {
			t.Fatalf("decode %+v: %v", d, err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, d)
		}
	}
}

// TestSyncDaemonEncoding checks the bytes against ip_vs_daemon_policy: the
// state and sync ID as u32, the name NUL-terminated, the port a u16 in
// host order, the IPv4 group in network order, the TTL one byte, and
// nothing for what is left to the kernel.
func TestSyncDaemonEncoding(t *testing.T) {
	native := nl.NativeEndian()
	attrs := func(d SyncDaemon) map[uint16][]byte {
		t.Helper()
		a, err := encodeSyncDaemon(d)
		if err != nil {
			t.Fatal(err)
		}
		if a.Type != ipvsCmdAttrDaemon {
			t.Fatalf("nest type %d, want %d", a.Type, ipvsCmdAttrDaemon)
		}
		parsed, err := nl.ParseRouteAttr(a.Serialize()[4:])
		if err != nil {
			t.Fatal(err)
		}
		m := map[uint16][]byte{}
		for _, p := range parsed {
			m[p.Attr.Type] = p.Value
		}
		return m
	}
	m := attrs(SyncDaemon{State: SyncBackup, Interface: "eth1", SyncID: 9, Group: netip.MustParseAddr("239.1.2.3"), Port: 8849, TTL: 2, MaxLen: 1400})
	for typ, want := range map[uint16][]byte{
		daemonAttrState:      nl.Uint32Attr(2),
		daemonAttrMcastIfn:   []byte("eth1\x00"),
		daemonAttrSyncID:     nl.Uint32Attr(9),
		daemonAttrSyncMaxLen: nl.Uint16Attr(1400),
		daemonAttrMcastGroup: {239, 1, 2, 3},
		daemonAttrMcastPort:  nl.Uint16Attr(8849),
		daemonAttrMcastTTL:   {2},
	} {
		if !bytes.Equal(m[typ], want) {
			t.Errorf("attribute %d = %v, want %v", typ, m[typ], want)
		}
	}
	if native.Uint16(m[daemonAttrMcastPort]) != 8849 {
		t.Errorf("port is not in host order: %v", m[daemonAttrMcastPort])
	}
	m = attrs(SyncDaemon{State: SyncMaster, Interface: "eth0"})
	if len(m) != 3 || m[daemonAttrState] == nil || m[daemonAttrMcastIfn] == nil || m[daemonAttrSyncID] == nil {
		t.Errorf("a daemon with the defaults sends %v, want the state, interface and sync ID alone", m)
	}
	m = attrs(SyncDaemon{State: SyncMaster, Interface: "eth0", Group: netip.MustParseAddr("ff15::81")})
	if len(m[daemonAttrMcastGrp6]) != 16 || m[daemonAttrMcastGroup] != nil {
		t.Errorf("an IPv6 group goes as IPVS_DAEMON_ATTR_MCAST_GROUP6: %v", m)
	}
}

func TestSyncDaemonRefused(t *testing.T) {
	for _, c := range []struct {
		d    SyncDaemon
		want string
	}{
		{SyncDaemon{State: "primary", Interface: "eth0"}, `state "primary" is not master or backup`},
		{SyncDaemon{State: SyncMaster}, "master sync daemon without an interface"},
		{SyncDaemon{State: SyncBackup, Interface: "a-name-of-16-chr"}, "longer than 15 bytes"},
		{SyncDaemon{State: SyncMaster, Interface: "eth0", Group: netip.MustParseAddr("192.0.2.1")}, "group 192.0.2.1 is not a multicast address"},
	} {
		_, err := encodeSyncDaemon(c.d)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errInvalid) {
			t.Errorf("%+v: %v, want an invalid argument saying %q", c.d, err, c.want)
		}
	}
}

func TestSyncDaemonDecodeErrors(t *testing.T) {
	state := func(s uint32) *nl.RtAttr {
		a := nl.NewRtAttr(ipvsCmdAttrDaemon, nil)
		a.AddRtAttr(daemonAttrState, nl.Uint32Attr(s))
		return a
	}
	short := nl.NewRtAttr(ipvsCmdAttrDaemon, nil)
	short.AddRtAttr(daemonAttrState, nl.Uint32Attr(1))
	short.AddRtAttr(daemonAttrMcastPort, []byte{1})
	for name, msg := range map[string][]byte{
		"too short":       {1, 1},
		"no nest":         answer(nl.NewRtAttr(ipvsCmdAttrDaemon-1, nil)), // IPVS_CMD_ATTR_DEST
		"unknown state":   answer(state(4)),
		"no state":        answer(nl.NewRtAttr(ipvsCmdAttrDaemon, nil)),
		"a short payload": answer(short),
	} {
		if d, err := decodeSyncDaemon(msg); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, d)
		}
	}
	if d, err := decodeSyncDaemon(answer(state(1))); err != nil || d.State != SyncMaster {
		t.Errorf("a master with nothing else: %+v, %v", d, err)
	}
}

func TestSyncDaemonWithDefaults(t *testing.T) {
	g4, g6 := netip.MustParseAddr("239.1.1.1"), netip.MustParseAddr("ff15::1")
	for _, c := range []struct {
		d    SyncDaemon
		mtu  int
		want SyncDaemon
	}{
		{SyncDaemon{State: SyncMaster}, 1500, SyncDaemon{State: SyncMaster, Group: syncDefaultGroup, Port: 8848, TTL: 1, MaxLen: 1472}},
		// A master's default ignores the MTU; a backup's follows it.
		{SyncDaemon{State: SyncMaster}, 9000, SyncDaemon{State: SyncMaster, Group: syncDefaultGroup, Port: 8848, TTL: 1, MaxLen: 1472}},
		{SyncDaemon{State: SyncBackup}, 9000, SyncDaemon{State: SyncBackup, Group: syncDefaultGroup, Port: 8848, TTL: 1, MaxLen: 8972}},
		{SyncDaemon{State: SyncBackup}, 576, SyncDaemon{State: SyncBackup, Group: syncDefaultGroup, Port: 8848, TTL: 1, MaxLen: 1472}},
		{SyncDaemon{State: SyncMaster, Group: g6}, 1500, SyncDaemon{State: SyncMaster, Group: g6, Port: 8848, TTL: 1, MaxLen: 1452}},
		{SyncDaemon{State: SyncBackup, Group: g4, Port: 5, TTL: 9, MaxLen: 10}, 1500, SyncDaemon{State: SyncBackup, Group: g4, Port: 5, TTL: 9, MaxLen: 1024}},
		{SyncDaemon{State: SyncMaster, MaxLen: 10}, 1500, SyncDaemon{State: SyncMaster, Group: syncDefaultGroup, Port: 8848, TTL: 1, MaxLen: 10}},
		{SyncDaemon{State: SyncMaster, MaxLen: 65535}, 1500, SyncDaemon{State: SyncMaster, Group: syncDefaultGroup, Port: 8848, TTL: 1, MaxLen: 65507}},
		{SyncDaemon{State: SyncMaster, Group: g6, MaxLen: 65535}, 1500, SyncDaemon{State: SyncMaster, Group: g6, Port: 8848, TTL: 1, MaxLen: 65487}},
	} {
		if got := c.d.WithDefaults(c.mtu); got != c.want {
			t.Errorf("%+v at MTU %d:\n got %+v\nwant %+v", c.d, c.mtu, got, c.want)
		}
	}
}

func TestMemorySyncDaemonsFailNext(t *testing.T) {
	m := NewMemory()
	boom := errors.New("boom")
	m.FailNext(1, boom)
	if err := m.StartSyncDaemon(SyncDaemon{State: SyncMaster, Interface: "eth0"}); !errors.Is(err, boom) {
		t.Fatalf("StartSyncDaemon: %v, want boom", err)
	}
	if ds, err := m.SyncDaemons(); err != nil || len(ds) != 0 {
		t.Fatalf("a failed start started %v (%v)", ds, err)
	}
	if err := m.StartSyncDaemon(SyncDaemon{State: SyncMaster, Interface: "eth0"}); err != nil {
		t.Fatal(err)
	}
	if err := m.StopSyncDaemon(SyncMaster); err != nil {
		t.Fatal(err)
	}
	if m.Writes() != 2 {
		t.Errorf("Writes = %d, want 2 (a start and a stop)", m.Writes())
	}
}
