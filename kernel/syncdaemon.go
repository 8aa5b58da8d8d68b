package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"time"

	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The sync daemons are driven here by hand, with generic netlink requests
// built as moby/ipvs builds its own: moby/ipvs, which the rest of the
// table goes through, has no sync daemon commands, and no Go library
// offers them. The numbers are those of include/uapi/linux/ip_vs.h
// (checked against Debian's linux-libc-dev 6.1), and the encoding of each
// attribute that of the kernel's ip_vs_daemon_policy and
// ip_vs_genl_fill_daemon (net/netfilter/ipvs/ip_vs_ctl.c), which ipvsadm's
// libipvs also follows.
const (
	ipvsCmdNewDaemon = 9  // IPVS_CMD_NEW_DAEMON: start one
	ipvsCmdDelDaemon = 10 // IPVS_CMD_DEL_DAEMON: stop one
	ipvsCmdGetDaemon = 11 // IPVS_CMD_GET_DAEMON: dump those running

	ipvsCmdAttrDaemon = 3 // IPVS_CMD_ATTR_DAEMON: the nest of the attributes below

	daemonAttrState      = 1 // IPVS_DAEMON_ATTR_STATE, u32: ipvsStateMaster or ipvsStateBackup
	daemonAttrMcastIfn   = 2 // IPVS_DAEMON_ATTR_MCAST_IFN, NUL-terminated string
	daemonAttrSyncID     = 3 // IPVS_DAEMON_ATTR_SYNC_ID, u32 (the kernel keeps a u8)
	daemonAttrSyncMaxLen = 4 // IPVS_DAEMON_ATTR_SYNC_MAXLEN, u16
	daemonAttrMcastGroup = 5 // IPVS_DAEMON_ATTR_MCAST_GROUP, 4 bytes in network order
	daemonAttrMcastGrp6  = 6 // IPVS_DAEMON_ATTR_MCAST_GROUP6, 16 bytes
	daemonAttrMcastPort  = 7 // IPVS_DAEMON_ATTR_MCAST_PORT, u16 in host order
	daemonAttrMcastTTL   = 8 // IPVS_DAEMON_ATTR_MCAST_TTL, u8

	ipvsStateMaster = 1 // IP_VS_STATE_MASTER
	ipvsStateBackup = 2 // IP_VS_STATE_BACKUP

	ifNameMax = 15 // IP_VS_IFNAME_MAXLEN less its NUL
)

// The kernel's defaults for what a SyncDaemon leaves at zero
// (start_sync_thread in net/netfilter/ipvs/ip_vs_sync.c): it reports them
// once the daemon runs.
var syncDefaultGroup = netip.AddrFrom4([4]byte{224, 0, 0, 81})

const (
	syncDefaultPort = 8848
	syncDefaultTTL  = 1
)

// daemonAttrSizes are the smallest payloads of the fixed-size attributes.
var daemonAttrSizes = map[uint16]int{daemonAttrState: 4, daemonAttrSyncID: 4, daemonAttrSyncMaxLen: 2,
	daemonAttrMcastGroup: 4, daemonAttrMcastGrp6: 16, daemonAttrMcastPort: 2, daemonAttrMcastTTL: 1}

var syncStates = map[string]uint32{SyncMaster: ipvsStateMaster, SyncBackup: ipvsStateBackup}

// syncState is the kernel's number for a sync daemon's state.
func syncState(state string) (uint32, error) {
	s, ok := syncStates[state]
	if !ok {
		return 0, fmt.Errorf("sync daemon state %q is not %s or %s: %w", state, SyncMaster, SyncBackup, errInvalid)
	}
	return s, nil
}

// check refuses what the kernel would refuse before it looks at the
// interface: an unknown state, no interface or a name too long for it, a
// group that is not multicast.
func (d SyncDaemon) check() error {
	if _, err := syncState(d.State); err != nil {
		return err
	}
	switch {
	case d.Interface == "":
		return fmt.Errorf("%s sync daemon without an interface: %w", d.State, errInvalid)
	case len(d.Interface) > ifNameMax:
		return fmt.Errorf("%s sync daemon: interface name %q is longer than %d bytes: %w", d.State, d.Interface, ifNameMax, errInvalid)
	case d.Group.IsValid() && !d.Group.Unmap().IsMulticast():
		return fmt.Errorf("%s sync daemon: group %s is not a multicast address: %w", d.State, d.Group, errInvalid)
	}
	return nil
}

// subject names a sync daemon in errors: "the master sync daemon on eth0".
func (d SyncDaemon) subject() string {
	return fmt.Sprintf("the %s sync daemon on %s", d.State, d.Interface)
}

// WithDefaults is d as the kernel runs it and lists it, on an interface
// whose MTU is mtu: the group (224.0.0.81), port (8848) and TTL (1) left
// at zero get the kernel's defaults, and the largest message is clamped
// (master 1.., backup 1024.., both up to 65535 less the headers), or,
// left at zero, derived from 1500 for a master and from the MTU (at least
// 1500) for a backup, less the IP and UDP headers: 1472 over IPv4 at MTU
// 1500. Compare a wanted daemon with one that runs through it; where the
// MTU is not known, compare MaxLen only when it was asked for.
func (d SyncDaemon) WithDefaults(mtu int) SyncDaemon {
	if !d.Group.IsValid() {
		d.Group = syncDefaultGroup
	}
	d.Group = d.Group.Unmap()
	if d.Port == 0 {
		d.Port = syncDefaultPort
	}
	if d.TTL == 0 {
		d.TTL = syncDefaultTTL
	}
	hlen := 20 + 8
	if d.Group.Is6() {
		hlen = 40 + 8
	}
	low, base := 1, 1500
	if d.State == SyncBackup {
		low, base = 1024, min(max(mtu, 1500), 65535)
	}
	if d.MaxLen == 0 {
		d.MaxLen = uint16(base - hlen)
	} else {
		d.MaxLen = uint16(min(max(int(d.MaxLen), low), 65535-hlen))
	}
	return d
}

// answerWait bounds the wait for the kernel's answer. Generic netlink
// handles a request within the sendmsg that carries it, and queues its
// answer there (a dump's further parts are made within recvmsg): an
// answer that is not there at once never comes. That happens: when a
// daemon is stopped before its thread first ran, kthread_stop returns
// -EINTR, which netlink_rcv_skb takes for a dump in progress and
// acknowledges with nothing (seen on the VM's kernel, 6.1). StopSyncDaemon
// then reads the list to know.
const answerWait = 250 * time.Millisecond

// openGenl opens a generic netlink socket in the network namespace at
// path ("" for the current one) and looks up IPVS's family, for the
// commands moby/ipvs does not send.
func openGenl(path string) (*nl.SocketHandle, uint16, error) {
	fam, err := vnl.GenlFamilyGet("IPVS")
	if err != nil {
		return nil, 0, fmt.Errorf("looking up the IPVS netlink family: %w", err)
	}
	ns := netns.None()
	if path != "" {
		if ns, err = netns.GetFromPath(path); err != nil {
			return nil, 0, err
		}
		defer ns.Close()
	}
	sock, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_GENERIC)
	if err != nil {
		return nil, 0, err
	}
	tv := unix.NsecToTimeval(answerWait.Nanoseconds())
	if err := sock.SetReceiveTimeout(&tv); err != nil {
		sock.Close()
		return nil, 0, err
	}
	return &nl.SocketHandle{Socket: sock}, fam.ID, nil
}

// daemonRequest sends one IPVS daemon command with the given nest of
// daemon attributes (nil for none) and returns the answers' payloads.
// The caller holds n.mu.
func (n *Netlink) daemonRequest(cmd uint8, attrs *nl.RtAttr, flags int) ([][]byte, error) {
	req := nl.NewNetlinkRequest(int(n.family), unix.NLM_F_ACK|flags)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_GENERIC: n.genl}
	req.AddData(&nl.Genlmsg{Command: cmd, Version: 1})
	if attrs != nil {
		req.AddData(attrs)
	}
	return req.Execute(unix.NETLINK_GENERIC, 0)
}

// encodeSyncDaemon is IPVS_CMD_ATTR_DAEMON for d, checked: its state,
// interface and sync ID always, the rest when set.
func encodeSyncDaemon(d SyncDaemon) (*nl.RtAttr, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	state, _ := syncState(d.State)
	a := nl.NewRtAttr(ipvsCmdAttrDaemon, nil)
	a.AddRtAttr(daemonAttrState, nl.Uint32Attr(state))
	a.AddRtAttr(daemonAttrMcastIfn, nl.ZeroTerminated(d.Interface))
	a.AddRtAttr(daemonAttrSyncID, nl.Uint32Attr(uint32(d.SyncID)))
	if d.MaxLen != 0 {
		a.AddRtAttr(daemonAttrSyncMaxLen, nl.Uint16Attr(d.MaxLen))
	}
	if g := d.Group.Unmap(); g.Is4() {
		a.AddRtAttr(daemonAttrMcastGroup, g.AsSlice())
	} else if g.Is6() {
		a.AddRtAttr(daemonAttrMcastGrp6, g.AsSlice())
	}
	if d.Port != 0 {
		a.AddRtAttr(daemonAttrMcastPort, nl.Uint16Attr(d.Port))
	}
	if d.TTL != 0 {
		a.AddRtAttr(daemonAttrMcastTTL, nl.Uint8Attr(d.TTL))
	}
	return a, nil
}

// decodeSyncDaemon reads one answer to IPVS_CMD_GET_DAEMON: the generic
// netlink header, then IPVS_CMD_ATTR_DAEMON.
func decodeSyncDaemon(msg []byte) (SyncDaemon, error) {
	if len(msg) < nl.SizeofGenlmsg {
		return SyncDaemon{}, fmt.Errorf("sync daemon message of %d bytes", len(msg))
	}
	top, err := nl.ParseRouteAttr(msg[nl.SizeofGenlmsg:])
	if err != nil {
		return SyncDaemon{}, fmt.Errorf("sync daemon message: %w", err)
	}
	for _, t := range top {
		if t.Attr.Type&^nl.NLA_F_NESTED != ipvsCmdAttrDaemon {
			continue
		}
		attrs, err := nl.ParseRouteAttr(t.Value)
		if err != nil {
			return SyncDaemon{}, fmt.Errorf("sync daemon attributes: %w", err)
		}
		return syncDaemonFrom(attrs)
	}
	return SyncDaemon{}, errors.New("sync daemon message without the daemon's attributes")
}

func syncDaemonFrom(attrs []syscall.NetlinkRouteAttr) (SyncDaemon, error) {
	var d SyncDaemon
	native := nl.NativeEndian()
	for _, a := range attrs {
		v := a.Value
		if size := daemonAttrSizes[a.Attr.Type]; len(v) < size {
			return SyncDaemon{}, fmt.Errorf("sync daemon attribute %d of %d bytes, want %d", a.Attr.Type, len(v), daemonAttrSizes[a.Attr.Type])
		}
		switch a.Attr.Type {
		case daemonAttrState:
			switch s := native.Uint32(v); s {
			case ipvsStateMaster:
				d.State = SyncMaster
			case ipvsStateBackup:
				d.State = SyncBackup
			default:
				return SyncDaemon{}, fmt.Errorf("sync daemon in unknown state %d", s)
			}
		case daemonAttrMcastIfn:
			if i := indexNUL(v); i >= 0 {
				v = v[:i]
			}
			d.Interface = string(v)
		case daemonAttrSyncID:
			d.SyncID = uint8(native.Uint32(v))
		case daemonAttrSyncMaxLen:
			d.MaxLen = native.Uint16(v)
		case daemonAttrMcastGroup:
			d.Group = netip.AddrFrom4([4]byte(v[:4]))
		case daemonAttrMcastGrp6:
			d.Group = netip.AddrFrom16([16]byte(v[:16]))
		case daemonAttrMcastPort:
			d.Port = native.Uint16(v)
		case daemonAttrMcastTTL:
			d.TTL = v[0]
		}
	}
	if d.State == "" {
		return SyncDaemon{}, errors.New("sync daemon without a state")
	}
	return d, nil
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

var _ SyncDaemons = (*Netlink)(nil)

// SyncDaemons lists the sync daemons running in the table's network
// namespace, the master first, with the settings the kernel runs them
// with (its defaults filled in, see WithDefaults).
func (n *Netlink) SyncDaemons() ([]SyncDaemon, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out, err := n.listSyncDaemons()
	if err != nil {
		return nil, fmt.Errorf("netlink: listing the sync daemons of %s: %w", n.where, err)
	}
	return out, nil
}

// listSyncDaemons is SyncDaemons; the caller holds n.mu.
func (n *Netlink) listSyncDaemons() ([]SyncDaemon, error) {
	msgs, err := n.daemonRequest(ipvsCmdGetDaemon, nil, unix.NLM_F_DUMP)
	if err != nil {
		return nil, err
	}
	var out []SyncDaemon
	for _, m := range msgs {
		d, err := decodeSyncDaemon(m)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sortSyncDaemons(out)
	return out, nil
}

// StartSyncDaemon starts d; ErrExist if a daemon of its state runs. An
// interface the kernel does not know fails with ENODEV.
func (n *Netlink) StartSyncDaemon(d SyncDaemon) error {
	a, err := encodeSyncDaemon(d)
	if err != nil {
		return fmt.Errorf("netlink: starting %s in %s: %w", d.subject(), n.where, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.daemonRequest(ipvsCmdNewDaemon, a, 0); err != nil {
		switch {
		case errors.Is(err, syscall.ENODEV):
			err = fmt.Errorf("no interface %q there: %w", d.Interface, err)
		case errors.Is(err, syscall.EAGAIN):
			err = fmt.Errorf("the kernel did not answer: %w", err)
		case errors.Is(err, syscall.EINVAL):
			// The settings passed check: what is left is the
			// kernel's refusal to sync a mixed-family table.
			err = fmt.Errorf("%w (the kernel also refuses while a virtual service has real servers of the other address family)", err)
		}
		return n.fail("starting", d.subject(), err)
	}
	return nil
}

// StopSyncDaemon stops the daemon of state; ErrNotExist if none runs. A
// daemon stopped just after it started may leave the kernel without an
// answer (see answerWait): it is stopped if the list no longer has it.
func (n *Netlink) StopSyncDaemon(state string) error {
	subject := fmt.Sprintf("the %s sync daemon", state)
	s, err := syncState(state)
	if err != nil {
		return fmt.Errorf("netlink: stopping %s in %s: %w", subject, n.where, err)
	}
	a := nl.NewRtAttr(ipvsCmdAttrDaemon, nil)
	a.AddRtAttr(daemonAttrState, nl.Uint32Attr(s))
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err = n.daemonRequest(ipvsCmdDelDaemon, a, 0)
	if errors.Is(err, syscall.EAGAIN) {
		// No answer: stopped before its thread ran (see answerWait),
		// if the list no longer has it.
		running, lerr := n.listSyncDaemons()
		if lerr == nil && !slices.ContainsFunc(running, func(d SyncDaemon) bool { return d.State == state }) {
			return nil
		}
		if lerr != nil {
			err = fmt.Errorf("the kernel did not answer, nor to the listing that would tell whether it stopped: %w", lerr)
		} else {
			err = fmt.Errorf("the kernel did not answer, and the daemon still runs: %w", err)
		}
	}
	if err != nil {
		return n.fail("stopping", subject, err)
	}
	return nil
}

// sortSyncDaemons puts the master before the backup, as the kernel lists
// them.
func sortSyncDaemons(ds []SyncDaemon) {
	if len(ds) == 2 && ds[0].State == SyncBackup {
		ds[0], ds[1] = ds[1], ds[0]
	}
}
