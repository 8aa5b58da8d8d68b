package plan

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/kernel"
)

func master(iface string, id uint8) kernel.SyncDaemon {
	return kernel.SyncDaemon{State: kernel.SyncMaster, Interface: iface, SyncID: id}
}

func backup(iface string, id uint8) kernel.SyncDaemon {
	return kernel.SyncDaemon{State: kernel.SyncBackup, Interface: iface, SyncID: id}
}

// withDefaults is d with the kernel's defaults filled in, as the kernel lists it.
func withDefaults(d kernel.SyncDaemon, maxlen uint16) kernel.SyncDaemon {
	d.Group, d.Port, d.TTL, d.MaxLen = netip.MustParseAddr("224.0.0.81"), 8848, 1, maxlen
	return d
}

func TestSyncWanted(t *testing.T) {
	g := netip.MustParseAddr("239.0.0.1")
	cases := []struct {
		dir  *conf.SyncDaemon
		want []kernel.SyncDaemon
	}{
		{nil, nil},
		{&conf.SyncDaemon{State: conf.SyncMaster, Interface: "eth1", SyncID: 3}, []kernel.SyncDaemon{master("eth1", 3)}},
		{&conf.SyncDaemon{State: conf.SyncBackup, Interface: "eth1"}, []kernel.SyncDaemon{backup("eth1", 0)}},
		{&conf.SyncDaemon{State: conf.SyncBoth, Interface: "eth2", SyncID: 9, Group: g, Port: 9000, TTL: 2, MaxLen: 1400}, []kernel.SyncDaemon{
			{State: kernel.SyncMaster, Interface: "eth2", SyncID: 9, Group: g, Port: 9000, TTL: 2, MaxLen: 1400},
			{State: kernel.SyncBackup, Interface: "eth2", SyncID: 9, Group: g, Port: 9000, TTL: 2, MaxLen: 1400},
		}},
	}
	for _, tc := range cases {
		cfg := &conf.Config{Global: conf.Global{SyncDaemon: tc.dir}}
		if got := SyncWanted(cfg); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: got %+v, want %+v", tc.dir, got, tc.want)
		}
	}
}

func TestMergeSyncWanted(t *testing.T) {
	want, dropped := MergeSyncWanted(
		[]kernel.SyncDaemon{master("eth1", 1)},
		nil,
		[]kernel.SyncDaemon{master("eth1", 1), backup("eth1", 2)},
		[]kernel.SyncDaemon{master("eth2", 1), backup("eth1", 2)},
	)
	if w := []kernel.SyncDaemon{master("eth1", 1), backup("eth1", 2)}; !reflect.DeepEqual(want, w) {
		t.Errorf("want %+v, expected %+v", want, w)
	}
	if d := []kernel.SyncDaemon{master("eth2", 1)}; !reflect.DeepEqual(dropped, d) {
		t.Errorf("dropped %+v, expected %+v", dropped, d)
	}
}

func TestSameSyncDaemon(t *testing.T) {
	m := master("eth1", 5)
	cases := []struct {
		name          string
		want, running kernel.SyncDaemon
		same          bool
	}{
		{"as given", m, m, true},
		{"defaults listed", m, withDefaults(m, 1472), true},
		{"other state", m, backup("eth1", 5), false},
		{"other interface", m, master("eth2", 5), false},
		{"other syncid", m, master("eth1", 6), false},
		{"other group", m, func() kernel.SyncDaemon {
			d := withDefaults(m, 0)
			d.Group = netip.MustParseAddr("239.1.1.1")
			return d
		}(), false},
		{"other port", m, func() kernel.SyncDaemon { d := withDefaults(m, 0); d.Port = 8849; return d }(), false},
		{"other ttl", m, func() kernel.SyncDaemon { d := withDefaults(m, 0); d.TTL = 2; return d }(), false},
		{"group given, default listed", func() kernel.SyncDaemon { d := m; d.Group = netip.MustParseAddr("224.0.0.81"); return d }(), withDefaults(m, 0), true},
		{"group given, none listed", func() kernel.SyncDaemon { d := m; d.Group = netip.MustParseAddr("239.1.1.1"); return d }(), m, false},
		{"maxlen given and listed", func() kernel.SyncDaemon { d := m; d.MaxLen = 1400; return d }(), withDefaults(m, 1400), true},
		{"maxlen given, other listed", func() kernel.SyncDaemon { d := m; d.MaxLen = 1400; return d }(), withDefaults(m, 1472), false},
	}
	for _, tc := range cases {
		if got := SameSyncDaemon(tc.want, tc.running); got != tc.same {
			t.Errorf("%s: SameSyncDaemon = %v, want %v", tc.name, got, tc.same)
		}
	}
}

func TestPlanSyncDaemons(t *testing.T) {
	m1, m2, b1 := master("eth1", 1), master("eth1", 2), backup("eth1", 1)
	big := m1
	big.MaxLen = 9000
	bounded := withDefaults(m1, 1472) // the kernel bounded maxlen by the MTU
	ds := func(d ...kernel.SyncDaemon) []kernel.SyncDaemon { return d }
	cases := []struct {
		name            string
		wanted, running []kernel.SyncDaemon
		owned           map[string]SyncOwned
		want            SyncSteps
	}{
		{name: "nothing"},
		{name: "start what is missing", wanted: ds(m1, b1),
			want: SyncSteps{Start: ds(m1, b1)}},
		{name: "adopt one running as wanted", wanted: ds(m1), running: ds(withDefaults(m1, 1472)),
			want: SyncSteps{Adopt: ds(withDefaults(m1, 1472))}},
		{name: "keep our own", wanted: ds(m1), running: ds(m1), owned: map[string]SyncOwned{kernel.SyncMaster: {m1, m1}},
			want: SyncSteps{Keep: ds(m1)}},
		{name: "replace one with other settings", wanted: ds(m2), running: ds(m1),
			want: SyncSteps{Stop: ds(m1), Start: ds(m2)}},
		{name: "replace our own on a reload", wanted: ds(m2), running: ds(m1), owned: map[string]SyncOwned{kernel.SyncMaster: {m1, m1}},
			want: SyncSteps{Stop: ds(m1), Start: ds(m2)}},
		{name: "both: one adopted, one started", wanted: ds(m1, b1), running: ds(b1),
			want: SyncSteps{Start: ds(m1), Adopt: ds(b1)}},
		{name: "stopped by hand: started again", wanted: ds(m1, b1), running: ds(b1), owned: map[string]SyncOwned{kernel.SyncMaster: {m1, m1}, kernel.SyncBackup: {b1, b1}},
			want: SyncSteps{Start: ds(m1), Keep: ds(b1)}},
		{name: "ours no longer wanted: stopped", wanted: ds(m1), running: ds(m1, b1), owned: map[string]SyncOwned{kernel.SyncMaster: {m1, m1}, kernel.SyncBackup: {b1, b1}},
			want: SyncSteps{Stop: ds(b1), Keep: ds(m1)}},
		{name: "an operator's left alone", wanted: ds(m1), running: ds(m1, b1), owned: map[string]SyncOwned{kernel.SyncMaster: {m1, m1}},
			want: SyncSteps{Keep: ds(m1)}},
		{name: "stop: our own stop", running: ds(m1, b1), owned: map[string]SyncOwned{kernel.SyncMaster: {m1, m1}, kernel.SyncBackup: {b1, b1}},
			want: SyncSteps{Stop: ds(m1, b1)}},
		{name: "stop: one replaced by hand since is left", running: ds(m2, b1), owned: map[string]SyncOwned{kernel.SyncMaster: {m1, m1}},
			want: SyncSteps{}},
		{name: "stop: nothing owned, nothing stopped", running: ds(m1, b1)},
		{name: "a bounded maxlen is not replaced again", wanted: ds(big), running: ds(bounded), owned: map[string]SyncOwned{kernel.SyncMaster: {big, bounded}},
			want: SyncSteps{Keep: ds(bounded)}},
		{name: "a bounded maxlen someone else started is replaced", wanted: ds(big), running: ds(bounded),
			want: SyncSteps{Stop: ds(bounded), Start: ds(big)}},
	}
	for _, tc := range cases {
		got := PlanSyncDaemons(tc.wanted, tc.running, tc.owned)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
		if got.Empty() != (len(tc.want.Stop)+len(tc.want.Start) == 0) {
			t.Errorf("%s: Empty() = %v", tc.name, got.Empty())
		}
	}
}
