package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/moby/ipvs"
	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// netnsDir is where `ip netns` keeps named network namespaces.
const netnsDir = "/var/run/netns"

// IPVS service flags (include/uapi/linux/ip_vs.h). Hashed is the kernel's
// own bookkeeping and never read or written here.
const (
	svcPersistent = 0x0001
	svcOnePacket  = 0x0004
	svcSched1     = 0x0008 // SCHED1..3 are consecutive bits
	svcSchedMask  = 0x0038
)

// Netlink is the kernel's IPVS table, reached through generic netlink. It is
// safe for concurrent use; calls are serialised on one socket.
type Netlink struct {
	mu     sync.Mutex
	handle *ipvs.Handle
	where  string // for errors: "the current network namespace" or its path
	// genl and family carry what moby/ipvs cannot send (syncdaemon.go),
	// in the same network namespace as handle.
	genl   *nl.SocketHandle
	family uint16
}

var _ Table = (*Netlink)(nil)

// NewNetlink opens the IPVS table of the current network namespace. The
// ip_vs module must be loaded, or loadable with modprobe.
func NewNetlink() (Table, error) {
	n, err := openNetlink("", "the current network namespace")
	if err != nil {
		return nil, err // not a nil *Netlink in a non-nil Table
	}
	return n, nil
}

// NewNetlinkInNamespace opens the IPVS table of a named network namespace,
// as `ip netns` names it (/var/run/netns/<name>), or of the namespace at an
// absolute path.
func NewNetlinkInNamespace(name string) (Table, error) {
	if name == "" {
		return nil, errors.New("netlink: empty network namespace name")
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(netnsDir, name)
	}
	n, err := openNetlink(p, "network namespace "+p)
	if err != nil {
		return nil, err
	}
	return n, nil
}

func openNetlink(path, where string) (*Netlink, error) {
	if err := ipvsPresent(); err != nil {
		return nil, fmt.Errorf("netlink: opening the IPVS table of %s: %w", where, err)
	}
	h, err := ipvs.New(path)
	if err != nil {
		return nil, fmt.Errorf("netlink: opening the IPVS table of %s: %w", where, err)
	}
	if _, err := h.GetServices(); err != nil {
		h.Close()
		return nil, fmt.Errorf("netlink: reading the IPVS table of %s: %w", where, err)
	}
	genl, family, err := openGenl(path)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netlink: opening the IPVS table of %s: %w", where, err)
	}
	return &Netlink{handle: h, where: where, genl: genl, family: family}, nil
}

// ipvsPresent checks that the kernel has IPVS's generic netlink family,
// loading ip_vs if it can. It must pass before the first ipvs.New: moby/ipvs
// looks the family up once per process and, when it is missing, keeps
// sending to family 0, where every call "succeeds" and does nothing.
func ipvsPresent() error {
	if _, err := vnl.GenlFamilyGet("IPVS"); err == nil {
		return nil
	}
	// What moby/ipvs would try; it may be missing or not allowed.
	exec.Command("modprobe", "-q", "ip_vs").Run()
	if _, err := vnl.GenlFamilyGet("IPVS"); err != nil {
		return fmt.Errorf("the kernel has no IPVS (is the ip_vs module loaded?): %w", err)
	}
	return nil
}

// Close releases the netlink socket.
func (n *Netlink) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handle.Close()
	n.genl.Socket.Close()
	return nil
}

// List reads the whole table back, normalized and in the same order as the
// other tables list it.
func (n *Netlink) List() ([]Virtual, error) {
	vs, _, err := n.list(false)
	return vs, err
}

// ListConns is List with the connection counts of every destination, from
// the same dump of the table.
func (n *Netlink) ListConns() ([]Virtual, map[ServiceKey]map[DestKey]Conns, error) {
	return n.list(true)
}

func (n *Netlink) list(withConns bool) ([]Virtual, map[ServiceKey]map[DestKey]Conns, error) {
	var out []Virtual
	var conns map[ServiceKey]map[DestKey]Conns
	if withConns {
		conns = map[ServiceKey]map[DestKey]Conns{}
	}
	err := n.dump(func(s Service, dests []Destination, raw []*ipvs.Destination) {
		if withConns {
			m := make(map[DestKey]Conns, len(dests))
			for i, d := range dests {
				m[d.Normalize(s).Key()] = Conns{Active: uint32(raw[i].ActiveConnections), Inactive: uint32(raw[i].InactiveConnections)}
			}
			conns[s.Key()] = m
		}
		slices.SortFunc(dests, compareDests)
		out = append(out, Virtual{Service: s, Destinations: dests})
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(out, func(a, b Virtual) int { return compareServices(a.Service, b.Service) })
	return out, conns, nil
}

// dump reads every service and its destinations, as the kernel gives
// them, and hands each service to each with its destinations converted.
func (n *Netlink) dump(each func(s Service, dests []Destination, raw []*ipvs.Destination)) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	svcs, err := n.handle.GetServices()
	if err != nil {
		return fmt.Errorf("netlink: listing the services of %s: %w", n.where, err)
	}
	for _, is := range svcs {
		s, err := fromIPVSService(is)
		if err != nil {
			return fmt.Errorf("netlink: listing %s: %w", n.where, err)
		}
		raw, err := n.handle.GetDestinations(is)
		if err != nil {
			return n.fail("listing the destinations of", s.Key(), err)
		}
		var dests []Destination
		for _, id := range raw {
			d, err := fromIPVSDestination(id)
			if err != nil {
				return fmt.Errorf("netlink: listing service %s: %w", s.Key(), err)
			}
			dests = append(dests, d)
		}
		each(s, dests, raw)
	}
	return nil
}

// AddService adds a service; ErrExist if it is there.
func (n *Netlink) AddService(s Service) error {
	return n.service("adding service", s, (*ipvs.Handle).NewService)
}

// UpdateService changes a service's settings; ErrNotExist if it is not there.
func (n *Netlink) UpdateService(s Service) error {
	return n.service("editing service", s, (*ipvs.Handle).UpdateService)
}

// DelService deletes a service and its destinations; ErrNotExist if it is
// not there.
func (n *Netlink) DelService(s Service) error {
	return n.service("deleting service", s, (*ipvs.Handle).DelService)
}

// AddDestination adds a destination to a service; ErrExist if it is there,
// ErrNotExist if the service is not.
func (n *Netlink) AddDestination(s Service, d Destination) error {
	return n.dest("adding", s, d, (*ipvs.Handle).NewDestination)
}

// UpdateDestination changes a destination's settings; ErrNotExist if it or
// its service is not there.
func (n *Netlink) UpdateDestination(s Service, d Destination) error {
	return n.dest("editing", s, d, (*ipvs.Handle).UpdateDestination)
}

// DelDestination deletes a destination; ErrNotExist if it or its service is
// not there.
func (n *Netlink) DelDestination(s Service, d Destination) error {
	return n.dest("deleting", s, d, (*ipvs.Handle).DelDestination)
}

func (n *Netlink) service(what string, s Service, call func(*ipvs.Handle, *ipvs.Service) error) error {
	is, err := toIPVSService(s)
	if err != nil {
		return fmt.Errorf("netlink: %s %s: %w", what, s.Key(), err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := call(n.handle, is); err != nil {
		return n.fail(what, s.Key(), err)
	}
	return nil
}

func (n *Netlink) dest(what string, s Service, d Destination, call func(*ipvs.Handle, *ipvs.Service, *ipvs.Destination) error) error {
	s = s.Normalize()
	d = d.Normalize(s)
	subject := fmt.Sprintf("destination %s of service %s", d.Key(), s.Key())
	is, err := toIPVSService(s)
	if err != nil {
		return fmt.Errorf("netlink: %s %s: %w", what, subject, err)
	}
	id, err := toIPVSDestination(s, d)
	if err != nil {
		return fmt.Errorf("netlink: %s %s: %w", what, subject, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := call(n.handle, is, id); err != nil {
		return n.fail(what, subject, err)
	}
	return nil
}

// fail maps the kernel's errno to the Table's sentinel errors, keeping the
// errno too: the kernel answers EEXIST for a duplicate, ESRCH for a missing
// service and ENOENT for a missing destination or scheduler.
func (n *Netlink) fail(what string, subject any, err error) error {
	var sentinel error
	switch {
	case errors.Is(err, syscall.EEXIST):
		sentinel = ErrExist
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ESRCH):
		sentinel = ErrNotExist
	}
	if sentinel == nil {
		return fmt.Errorf("netlink: %s %v in %s: %w", what, subject, n.where, err)
	}
	return fmt.Errorf("netlink: %s %v in %s: %w (%w)", what, subject, n.where, sentinel, err)
}

var protocols = map[string]uint16{"tcp": syscall.IPPROTO_TCP, "udp": syscall.IPPROTO_UDP, "sctp": syscall.IPPROTO_SCTP}

func protocolName(p uint16) (string, error) {
	for name, num := range protocols {
		if num == p {
			return name, nil
		}
	}
	return "", fmt.Errorf("unknown IP protocol %d (want tcp, udp or sctp)", p)
}

// toIPVSService converts a service, normalized first, to the kernel's form.
func toIPVSService(s Service) (*ipvs.Service, error) {
	s = s.Normalize()
	is := &ipvs.Service{
		SchedName:     s.Scheduler,
		AddressFamily: syscall.AF_INET,
		Timeout:       s.Persistent,
	}
	if s.IPv6 {
		is.AddressFamily = syscall.AF_INET6
	}
	if s.FWMark != 0 {
		is.FWMark = s.FWMark
	} else {
		p, ok := protocols[s.Protocol]
		if !ok {
			return nil, fmt.Errorf("protocol %q is not tcp, udp or sctp", s.Protocol)
		}
		if !s.Addr.IsValid() {
			return nil, errors.New("service has neither an address nor a firewall mark")
		}
		is.Protocol, is.Port, is.Address = p, s.Port, net.IP(s.Addr.AsSlice())
	}
	if s.Persistent > 0 {
		is.Flags |= svcPersistent
	}
	if s.OnePacket {
		is.Flags |= svcOnePacket
	}
	for _, f := range s.Flags {
		bit, ok := flagBits[f]
		if !ok {
			return nil, fmt.Errorf("unknown scheduler flag %q (want sh-fallback, sh-port, mh-fallback, mh-port or flag-1..3)", f)
		}
		is.Flags |= svcSched1 << (bit - 1)
	}
	is.Netmask = netmaskToKernel(s.IPv6, s.NetmaskBits)
	return is, nil
}

// netmaskToKernel encodes the persistence granularity as the kernel keeps
// it: a prefix length for IPv6, the mask itself (network byte order, read as
// a native u32) for IPv4.
func netmaskToKernel(ipv6 bool, prefix int) uint32 {
	if ipv6 {
		return uint32(prefix)
	}
	return binary.NativeEndian.Uint32(net.CIDRMask(prefix, 32))
}

func netmaskFromKernel(ipv6 bool, mask uint32) (int, error) {
	if ipv6 {
		if mask > 128 {
			return 0, fmt.Errorf("IPv6 netmask /%d is longer than 128", mask)
		}
		return int(mask), nil
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], mask)
	ones, size := net.IPMask(b[:]).Size()
	if size == 0 {
		return 0, fmt.Errorf("IPv4 netmask %s is not contiguous", net.IP(b[:]))
	}
	return ones, nil
}

// fromIPVSService converts a service read from the kernel, normalized.
func fromIPVSService(is *ipvs.Service) (Service, error) {
	s := Service{Scheduler: is.SchedName, FWMark: is.FWMark}
	switch is.AddressFamily {
	case syscall.AF_INET:
	case syscall.AF_INET6:
		s.IPv6 = true
	default:
		return Service{}, fmt.Errorf("service with unknown address family %d", is.AddressFamily)
	}
	if is.FWMark == 0 {
		p, err := protocolName(is.Protocol)
		if err != nil {
			return Service{}, fmt.Errorf("service %s:%d: %w", is.Address, is.Port, err)
		}
		a, ok := netip.AddrFromSlice(is.Address)
		if !ok {
			return Service{}, fmt.Errorf("service with address %v of family %d", is.Address, is.AddressFamily)
		}
		s.Protocol, s.Addr, s.Port = p, a.Unmap(), is.Port
	}
	if is.Flags&svcPersistent != 0 {
		s.Persistent = is.Timeout
	}
	s.OnePacket = is.Flags&svcOnePacket != 0
	for bit := 1; bit <= 3; bit++ {
		if is.Flags&(svcSched1<<(bit-1)) != 0 {
			s.Flags = append(s.Flags, flagName(s.Scheduler, bit))
		}
	}
	mask, err := netmaskFromKernel(s.IPv6, is.Netmask)
	if err != nil {
		return Service{}, fmt.Errorf("service %s: %w", s.Key(), err)
	}
	s.NetmaskBits = mask
	return s.Normalize(), nil
}

// Forwarding methods on the wire (IP_VS_CONN_F_*).
var methods = map[Forward]uint32{Masq: ipvs.ConnFwdMasq, IPIP: ipvs.ConnFwdTunnel, Gate: ipvs.ConnFwdDirectRoute}

func toIPVSDestination(s Service, d Destination) (*ipvs.Destination, error) {
	m, ok := methods[d.Method]
	if !ok {
		return nil, fmt.Errorf("forwarding method %q is not gate, masq or ipip", d.Method)
	}
	if !d.Addr.IsValid() {
		return nil, errors.New("destination without address")
	}
	if d.Addr.Is4() == s.IPv6 && s.FWMark == 0 {
		return nil, fmt.Errorf("destination address %s is not of the service's family", d.Addr)
	}
	if d.Weight < 0 || d.Weight > 65535 {
		return nil, fmt.Errorf("weight %d is outside 0..65535", d.Weight)
	}
	family := uint16(syscall.AF_INET)
	if d.Addr.Is6() {
		family = syscall.AF_INET6
	}
	return &ipvs.Destination{
		Address:         net.IP(d.Addr.AsSlice()),
		Port:            d.Port,
		Weight:          d.Weight,
		ConnectionFlags: m,
		AddressFamily:   family,
		UpperThreshold:  d.Upper,
		LowerThreshold:  d.Lower,
	}, nil
}

func fromIPVSDestination(id *ipvs.Destination) (Destination, error) {
	a, ok := netip.AddrFromSlice(id.Address)
	if !ok {
		return Destination{}, fmt.Errorf("destination with address %v", id.Address)
	}
	d := Destination{Addr: a.Unmap(), Port: id.Port, Weight: id.Weight, Upper: id.UpperThreshold, Lower: id.LowerThreshold}
	switch id.ConnectionFlags & ipvs.ConnFwdMask {
	case ipvs.ConnFwdMasq:
		d.Method = Masq
	case ipvs.ConnFwdTunnel:
		d.Method = IPIP
	case ipvs.ConnFwdDirectRoute, ipvs.ConnFwdLocalNode:
		// The kernel turns any destination with a local address into
		// "local node", whatever method it was given. ldirectord's local
		// fallback is gatewaying, and reading it back as such keeps the
		// diff from editing it again on every pass.
		d.Method = Gate
	default:
		return Destination{}, fmt.Errorf("destination %s: unknown forwarding method %#x", d.Key(), id.ConnectionFlags&ipvs.ConnFwdMask)
	}
	return d, nil
}

// String names the table for logs.
func (n *Netlink) String() string {
	return "IPVS table of " + strings.TrimPrefix(n.where, "the ")
}
