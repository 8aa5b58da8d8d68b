package plan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// MonitorLine is one monitorfile line for one check, in the Perl
// ldirectord's layout: [time] [pid] address port [status] message. The
// message has '%', '|' and line breaks escaped as %xx so that a line is
// always one record.
func MonitorLine(now time.Time, pid int, addr netip.Addr, port uint16, status Status, msg string) string {
	if msg == "" {
		msg = "-"
	}
	return fmt.Sprintf("[%s] [%d] %s %s [%s] %s\n",
		now.Format("Mon Jan _2 15:04:05 2006"), pid, addr, strconv.Itoa(int(port)), status, escapeMonitor(msg))
}

func escapeMonitor(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '%', '|', '\r', '\n':
			fmt.Fprintf(&b, "%%%.2x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
