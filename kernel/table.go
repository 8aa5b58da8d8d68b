// Package kernel owns the IPVS table: a model of virtual services and their
// destinations, the Table interface with a netlink and an in-memory
// implementation, and the pure diff that turns the actual table into the
// desired one. It is the only code in the project that talks to the kernel.
package kernel

import (
	"errors"
	"net/netip"
)

// Forward is the IPVS forwarding method of a destination.
type Forward string

// Forwarding methods as ipvsadm names them: -g, -m, -i.
const (
	Gate Forward = "gate"
	Masq Forward = "masq"
	IPIP Forward = "ipip"
)

// Errors that every Table implementation returns, wrapped, so that callers
// can tell the cases apart with errors.Is.
var (
	ErrExist    = errors.New("already exists") // EEXIST
	ErrNotExist = errors.New("no such entry")  // ENOENT / ESRCH
)

// Service is an IPVS virtual service.
type Service struct {
	// Protocol is "tcp" or "udp"; empty for a firewall-mark service.
	Protocol string
	Addr     netip.Addr // invalid for a firewall-mark service
	Port     uint16
	FWMark   uint32
	IPv6     bool // address family; needed for firewall-mark services

	Scheduler string
	// Flags are the IPVS service flags other than persistence and
	// one-packet: sh-fallback, sh-port, mh-fallback, mh-port, flag-1..3.
	Flags       []string
	Persistent  uint32 // persistence timeout in seconds, 0 = not persistent
	NetmaskBits int    // persistence granularity as a prefix length
	OnePacket   bool
}

// ServiceKey identifies a virtual service in the kernel: family, protocol and
// address:port, or family and firewall mark.
type ServiceKey string

// Destination is a real server of a virtual service.
type Destination struct {
	Addr   netip.Addr
	Port   uint16
	Method Forward
	Weight int
	Upper  uint32 // upper connection threshold, 0 = none
	Lower  uint32 // lower connection threshold, 0 = none
}

// DestKey identifies a destination within its service: address and port.
type DestKey string

// Virtual is a service with its destinations: one entry of the table.
type Virtual struct {
	Service      Service
	Destinations []Destination
}

// Table is the IPVS table. Implementations behave alike, errors included:
// adding what exists fails with ErrExist, editing or deleting what does not
// exist fails with ErrNotExist.
type Table interface {
	// List reads the whole table back.
	List() ([]Virtual, error)
	AddService(Service) error
	UpdateService(Service) error
	DelService(Service) error
	AddDestination(Service, Destination) error
	UpdateDestination(Service, Destination) error
	DelDestination(Service, Destination) error
}

// Conns are the connection counts the kernel keeps for a destination.
type Conns struct {
	Active, Inactive uint32
}

// ConnReader is a Table that can tell its destinations' connections, by
// service and destination key (the file table, where nothing is
// forwarded, cannot). A drain waits on them. ListConns is List with the
// connections, read in the same pass over the table.
type ConnReader interface {
	ListConns() ([]Virtual, map[ServiceKey]map[DestKey]Conns, error)
}

var _ ConnReader = (*Netlink)(nil)
var _ ConnReader = (*Memory)(nil)

// SyncDaemon is one of the kernel's IPVS connection-synchronisation
// daemons (ipvsadm --start-daemon): a master sends the connection table
// of this director over Interface, a backup receives it, so that a
// standby director can take over established connections.
type SyncDaemon struct {
	State     string     // SyncMaster or SyncBackup
	Interface string     // the network interface the sync traffic uses
	SyncID    uint8      // tells the pairs on one network apart; 0 default
	Group     netip.Addr // multicast group; invalid: the kernel's default (224.0.0.81)
	Port      uint16     // UDP port; 0: the kernel's default (8848)
	TTL       uint8      // multicast TTL; 0: the kernel's default (1)
	MaxLen    uint16     // largest sync message; 0: the kernel's default (from the MTU)
}

// The states of a sync daemon.
const (
	SyncMaster = "master"
	SyncBackup = "backup"
)

// SyncDaemons is a Table that manages the kernel's sync daemons (netlink
// and Memory do; the file table cannot). At most one master and one
// backup run at a time.
type SyncDaemons interface {
	// SyncDaemons lists those running.
	SyncDaemons() ([]SyncDaemon, error)
	// StartSyncDaemon starts d; ErrExist if one of its state runs.
	StartSyncDaemon(d SyncDaemon) error
	// StopSyncDaemon stops the one of state; ErrNotExist if none runs.
	StopSyncDaemon(state string) error
}
