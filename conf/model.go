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

	// Warnings are what the file does that is accepted but deprecated,
	// ignored or unlikely to work (a bare "supervised", checkcount, a
	// repeated directive, ...). They do not change
	// the model.
	Warnings []Warning
}

// Global holds the directives that stand outside any virtual block and that
// are not merely defaults for the virtual services (those are copied into
// each Virtual).
type Global struct {
	AutoReload bool
	Callback   string
	// LogFile is a path ("/var/log/ldirectord.log", the default) or a
	// syslog facility ("local0") when it has no leading '/'.
	LogFile        string
	Execute        []string // configurations to start beside this one, each once, in file order
	Supervised     bool
	Fork           bool
	MaintenanceDir string
	// SharedChecks (sharedchecks = yes, an extension) lets one check of a
	// real serve every virtual that checks that real the same way.
	SharedChecks bool
	// Metrics (metrics = ADDRESS:PORT, an extension) is where the daemon
	// serves /metrics for Prometheus; the zero value: nowhere.
	Metrics netip.AddrPort
	// SyncDaemon (syncdaemon = ..., an extension) is the kernel's IPVS
	// connection sync daemon the daemon runs; nil: it manages none.
	SyncDaemon *SyncDaemon
	// ConnectTimeout is accepted for compatibility and unused: the older
	// page documents it as unused (the 4.12 Perl refuses it). It is kept
	// only to be printed back.
	ConnectTimeout time.Duration
	// Defaults are the global values of the per-virtual settings, before
	// any virtual block overrides them.
	Defaults Settings
}

// Settings are the directives that are global defaults and may be overridden
// inside a virtual block. In Global.Defaults they are the global values; in a
// Virtual they are the effective values for that virtual service, the
// block's own where it sets them and the global ones elsewhere.
type Settings struct {
	CheckTimeout     time.Duration // default: negotiatetimeout if set, else 5s
	NegotiateTimeout time.Duration // default: checktimeout if set, else 30s
	CheckInterval    time.Duration // default 10s
	CheckCount       int           // default 1
	FailureCount     int           // default 1
	Quiescent        bool          // default no
	ReaddQuiescent   bool          // default no
	Cleanstop        bool          // default yes
	// Fallback and Fallback6 are the IPv4 and IPv6 fallback servers, nil
	// when none. Globally a Port of 0 means "the port of each virtual
	// service". In a Virtual only the one of its family is set (Fallback for
	// IPv4, Fallback6 for IPv6), with the port resolved; Virtual.Fallback
	// returns it.
	Fallback        *Real
	Fallback6       *Real
	FallbackCommand string
	EmailAlert      []string
	EmailAlertFrom  string
	EmailAlertFreq  time.Duration // 0: no repeats
	// EmailAlertStatus lists the daemon states to mail in: a subset of
	// starting, running, stopping, reloading in that order (default all
	// four), or []string{"none"}.
	EmailAlertStatus []string
	SMTP             string
	// Per virtual, ReaddQuiescent and EmailAlertFrom are extensions: the
	// Perl ldirectord accepts them only globally.

	// The health extensions, which the Perl ldirectord does not know; each
	// is off at its zero value, so that a Perl configuration behaves as
	// before.
	Rise         int           // rise: good checks in a row that bring a down real back (0 or 1: one)
	SlowStart    time.Duration // slowstart: a real back from down ramps its weight from 1 over this
	FailOpen     int           // failopen: percent of a virtual's reals failing together that make the daemon hold its table
	FailOpenHold time.Duration // failopen's hold: the longest the table is held (default 300s when FailOpen is set)
	FlapCount    int           // flapdamping K: changes of state allowed within FlapWindow
	FlapWindow   time.Duration // flapdamping W
	CheckJitter  int           // checkjitter: percent of checkinterval by which each check moves at random
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

	Scheduler  string        // default "wrr"
	SchedFlags []string      // sh-port, sh-fallback, mh-port, mh-fallback, flag-1..3, as written, without repeats
	Persistent time.Duration // 0: not persistent
	// Netmask is the persistence granularity: a dotted quad for IPv4
	// (default 255.255.255.255) or a prefix length for IPv6 (default 128),
	// kept as a prefix length here.
	NetmaskBits int
	OPS         bool // one-packet scheduling, UDP only
	ServiceName string
	Comment     string
	MonitorFile string
	Load        string // the 4.12 source's undocumented "load" word, unused

	Check    Check
	Settings Settings
	Reals    []*Real
}

// Check holds the settings a prober needs to judge one real server.
type Check struct {
	Type                    CheckType
	ConnectsBeforeNegotiate int    // N for checktype = N
	Service                 string // one of the Service constants (Services); default from the virtual port (ServiceForPort)
	Command                 string // checkcommand for external checks, default /bin/true
	Port                    uint16 // checkport; 0 means the real server's port (see Virtual.CheckPort)
	// Request is what the check asks for. For http and https it is a path
	// with its leading '/' (default "/") or an absolute URL; for the other
	// services it is the string as written (the Perl ldirectord prepends a
	// '/' to every request and strips it again in each check but HTTP's).
	Request     string
	Receive     string // a regular expression; "" matches anything
	HTTPMethod  string // GET (default) or HEAD
	VirtualHost string
	Login       string // default "anonymous" for ftp, "ldirectord@<hostname>" for sip
	Passwd      string // default "ldirectord@<hostname>" for ftp
	Database    string
	Secret      string
}

// Real is one real server (or a fallback server).
type Real struct {
	ID     RealID
	Line   int
	Addr   netip.Addr
	Port   uint16
	Method Forward // default gate for a fallback; required for a real
	Weight int     // 0..65535, default 1
	// Request and Receive are the effective check strings for this real:
	// the pair on its real line when it has one, else a copy of the
	// virtual's Check.Request and Check.Receive. Empty for a fallback.
	Request string
	Receive string
	Lower   uint32 // <l:N>, 0 when unset
	Upper   uint32 // <u:N>, 0 when unset
}

// Real is the real server of v with identity id, or nil.
func (v *Virtual) Real(id RealID) *Real {
	for _, r := range v.Reals {
		if r.ID == id {
			return r
		}
	}
	return nil
}
