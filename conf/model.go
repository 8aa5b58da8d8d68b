// Package conf owns the ldirectord configuration language: it reads a
// configuration file into a typed, validated model with every default
// resolved, so that no other package ever looks at configuration text.
package conf

import (
	"net/netip"
	"time"
)

// Protocol is the transport of a virtual service as ldirectord names it.
type Protocol string

// The protocols a virtual service may have.
const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
	FWM Protocol = "fwm"
)

// Forward is the LVS forwarding method of a real server.
type Forward string

// The forwarding methods: direct routing, NAT and tunnelling.
const (
	Gate Forward = "gate"
	Masq Forward = "masq"
	IPIP Forward = "ipip"
)

// CheckType says how a real server's health is judged.
type CheckType string

// The check types of ldirectord(8). A number N ("3") is stored in
// Check.ConnectsBeforeNegotiate with Type CheckCombined.
const (
	CheckConnect      CheckType = "connect"
	CheckNegotiate    CheckType = "negotiate"
	CheckPing         CheckType = "ping"
	CheckExternal     CheckType = "external"
	CheckExternalPerl CheckType = "external-perl"
	CheckOn           CheckType = "on"
	CheckOff          CheckType = "off"
	CheckCombined     CheckType = "combined" // checktype = N
)

// VirtualID is the stable identity of a virtual service: its protocol and
// address:port, or its firewall mark. Two configurations that name the same
// kernel service have equal VirtualIDs, whatever else changed.
type VirtualID string

// RealID is the stable identity of a real server within its virtual service:
// address and port. The forwarding method and weight are not part of it, so a
// changed weight is an edit, not a new server.
type RealID string

// Config is one parsed configuration file with every default resolved.
type Config struct {
	// File is the path the configuration was read from; Name is the
	// configuration name ldirectord uses for the pid file and the callback
	// (the file's base name).
	File string
	Name string

	Global   Global
	Virtuals []*Virtual
}

// Global holds the directives that stand outside any virtual block and that
// are not merely defaults for the virtual services (those are copied into
// each Virtual).
type Global struct {
	AutoReload     bool
	Callback       string
	LogFile        string // a path ("/var/log/ldirectord.log") or a syslog facility ("local0"); "" means the default
	Execute        []string
	Supervised     bool
	Fork           bool
	MaintenanceDir string
	// ConnectTimeout is accepted for compatibility and unused, as in Perl.
	ConnectTimeout time.Duration
	// Defaults are the global values of the per-virtual settings, before
	// any virtual block overrides them.
	Defaults Settings
}

// Settings are the directives that are global defaults and may be overridden
// inside a virtual block.
type Settings struct {
	CheckTimeout     time.Duration // default: negotiatetimeout if set, else 5s
	NegotiateTimeout time.Duration // default: checktimeout if set, else 30s
	CheckInterval    time.Duration // default 10s
	CheckCount       int           // default 1
	FailureCount     int           // default 1
	Quiescent        bool          // default no
	ReaddQuiescent   bool          // default no
	Cleanstop        bool          // default yes
	Fallback         *Real         // IPv4 fallback, nil when none
	Fallback6        *Real         // IPv6 fallback, nil when none
	FallbackCommand  string
	EmailAlert       []string
	EmailAlertFrom   string
	EmailAlertFreq   time.Duration // 0: no repeats
	EmailAlertStatus []string      // subset of starting, running, stopping, reloading
	SMTP             string
}

// Virtual is one virtual service block with its real servers.
type Virtual struct {
	ID   VirtualID
	Line int // line of the "virtual =" directive

	IPv6     bool       // from virtual6 = or an IPv6 address
	Addr     netip.Addr // invalid for a firewall mark
	Port     uint16
	FWMark   uint32 // 0 unless a firewall-mark service
	Protocol Protocol

	Scheduler  string   // default "wrr"
	SchedFlags []string // sh-port, sh-fallback, mh-port, mh-fallback, flag-1..3
	Persistent time.Duration
	// Netmask is the persistence granularity: a dotted quad for IPv4
	// (default 255.255.255.255) or a prefix length for IPv6 (default 128),
	// kept as a prefix length here.
	NetmaskBits int
	OPS         bool
	ServiceName string
	Comment     string
	MonitorFile string
	Load        string

	Check    Check
	Settings Settings
	Reals    []*Real
}

// Check holds the settings a prober needs to judge one real server.
type Check struct {
	Type                    CheckType
	ConnectsBeforeNegotiate int    // N for checktype = N
	Service                 string // http, https, ftp, ..., none
	Command                 string // checkcommand for external checks
	Port                    uint16 // checkport; 0 means the real server's port
	Request                 string
	Receive                 string
	HTTPMethod              string // GET (default) or HEAD
	VirtualHost             string
	Login                   string
	Passwd                  string
	Database                string
	Secret                  string
}

// Real is one real server (or a fallback server).
type Real struct {
	ID     RealID
	Line   int
	Addr   netip.Addr
	Port   uint16
	Method Forward
	Weight int
	// Request and Receive override the virtual's for this real when set.
	Request string
	Receive string
	Lower   uint32 // <l:N>, 0 when unset
	Upper   uint32 // <u:N>, 0 when unset
}
