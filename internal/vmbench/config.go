package vmbench

import (
	"fmt"
	"strings"
)

// ldirectordConfig is the configuration ours and the Perl ldirectord read:
// the same file but for the log. supervised = yes keeps both in the
// foreground without their debug mode, which would log every check.
func ldirectordConfig(p Params, n int, logfile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by vmbench\n")
	fmt.Fprintf(&b, "checkinterval = %d\n", int(p.Interval.Seconds()))
	fmt.Fprintf(&b, "checktimeout = %d\n", int(p.Timeout.Seconds()))
	fmt.Fprintf(&b, "negotiatetimeout = %d\n", int(p.Timeout.Seconds()))
	fmt.Fprintf(&b, "quiescent = no\nfork = no\nsupervised = yes\nautoreload = no\ncleanstop = no\n")
	fmt.Fprintf(&b, "logfile = \"%s\"\n", logfile)
	per := max(1, p.PerVirtual)
	for i := 0; i < n; i += per {
		fmt.Fprintf(&b, "\nvirtual = %s\n", virtualAddr(i/per))
		for j := i; j < min(i+per, n); j++ {
			fmt.Fprintf(&b, "\treal = %s masq 1\n", realAddr(j))
		}
		fmt.Fprintf(&b, "\tchecktype = negotiate\n\tservice = http\n\trequest = \"/\"\n\treceive = \"ok\"\n")
		fmt.Fprintf(&b, "\tscheduler = wlc\n\tprotocol = tcp\n")
	}
	return b.String()
}

// keepalivedConfig is the equivalent for keepalived's checker: HTTP_GET of
// / expecting 200, no retry (ldirectord's checkcount is 1), and alpha, so
// that a real enters the table after its first good check as with
// ldirectord, rather than at once.
func keepalivedConfig(p Params, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by vmbench\nglobal_defs {\n\trouter_id vmbench\n}\n")
	per := max(1, p.PerVirtual)
	for i := 0; i < n; i += per {
		v := virtualAddr(i / per)
		fmt.Fprintf(&b, "\nvirtual_server %s %d {\n", v.Addr(), v.Port())
		fmt.Fprintf(&b, "\tdelay_loop %d\n\tlb_algo wlc\n\tlb_kind NAT\n\tprotocol TCP\n\talpha\n", int(p.Interval.Seconds()))
		for j := i; j < min(i+per, n); j++ {
			r := realAddr(j)
			fmt.Fprintf(&b, "\treal_server %s %d {\n\t\tweight 1\n\t\tHTTP_GET {\n", r.Addr(), r.Port())
			fmt.Fprintf(&b, "\t\t\turl {\n\t\t\t\tpath /\n\t\t\t\tstatus_code 200\n\t\t\t}\n")
			fmt.Fprintf(&b, "\t\t\tconnect_timeout %d\n\t\t\tretry 0\n\t\t}\n\t}\n", int(p.Timeout.Seconds()))
		}
		fmt.Fprintf(&b, "}\n")
	}
	return b.String()
}
