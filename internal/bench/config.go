package bench

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Real is one real server of a generated configuration.
type Real struct {
	Addr   netip.AddrPort
	Weight int
}

// Config is the one configuration every peer runs, in ldirectord's
// language. The reals are grouped into virtual services of PerVirtual
// each, on addresses of 198.18.0.0/15 (set aside for benchmarks), which no
// packet ever reaches: there is no IPVS on the host.
type Config struct {
	Reals      []Real
	PerVirtual int
	// CheckType is "negotiate" (service http, GET / expecting Body) or
	// "connect".
	CheckType string
	Interval  time.Duration
	Timeout   time.Duration
	// Quiescent keeps a failed real at weight 0 instead of removing it.
	Quiescent bool
	Fork      bool
	LogFile   string
}

// virtualAddr is the address of the i-th virtual service.
func virtualAddr(i int, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i / 250), byte(i%250 + 1)}), port)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Text is the configuration file. supervised = yes keeps both daemons in
// the foreground without their debug mode, which would change what they
// cost.
func (c Config) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by ldbench\n")
	fmt.Fprintf(&b, "checkinterval = %d\n", int(c.Interval.Seconds()))
	fmt.Fprintf(&b, "checktimeout = %d\n", int(c.Timeout.Seconds()))
	fmt.Fprintf(&b, "negotiatetimeout = %d\n", int(c.Timeout.Seconds()))
	fmt.Fprintf(&b, "quiescent = %s\n", yesNo(c.Quiescent))
	fmt.Fprintf(&b, "fork = %s\n", yesNo(c.Fork))
	fmt.Fprintf(&b, "supervised = yes\nautoreload = no\ncleanstop = no\n")
	fmt.Fprintf(&b, "logfile = \"%s\"\n", c.LogFile)
	per := max(1, c.PerVirtual)
	for i := 0; i < len(c.Reals); i += per {
		port := c.Reals[i].Addr.Port()
		fmt.Fprintf(&b, "\nvirtual = %s\n", virtualAddr(i/per, port))
		for _, r := range c.Reals[i:min(i+per, len(c.Reals))] {
			fmt.Fprintf(&b, "\treal = %s gate %d\n", r.Addr, r.Weight)
		}
		if c.CheckType == "connect" {
			fmt.Fprintf(&b, "\tchecktype = connect\n")
		} else {
			fmt.Fprintf(&b, "\tchecktype = negotiate\n\tservice = http\n\trequest = \"/\"\n\treceive = \"ok\"\n")
		}
		fmt.Fprintf(&b, "\tscheduler = wlc\n\tprotocol = tcp\n")
	}
	return b.String()
}
