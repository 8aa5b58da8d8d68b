package kernel

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Op is what a Change does to the table.
type Op string

// The six operations on an IPVS table.
const (
	OpAddService  Op = "add-service"
	OpEditService Op = "edit-service"
	OpDelService  Op = "del-service"
	OpAddDest     Op = "add-dest"
	OpEditDest    Op = "edit-dest"
	OpDelDest     Op = "del-dest"
)

// Change is one operation on the table. Destination is unused by the
// service operations.
type Change struct {
	Op          Op
	Service     Service
	Destination Destination
}

// String writes the change as the ipvsadm command that would make it,
// without the program name: "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1".
func (c Change) String() string {
	var b strings.Builder
	switch c.Op {
	case OpAddService:
		b.WriteString("-A")
	case OpEditService:
		b.WriteString("-E")
	case OpDelService:
		b.WriteString("-D")
	case OpAddDest:
		b.WriteString("-a")
	case OpEditDest:
		b.WriteString("-e")
	case OpDelDest:
		b.WriteString("-d")
	default:
		return fmt.Sprintf("unknown operation %q on %s", c.Op, c.Service.Key())
	}
	b.WriteString(" ")
	b.WriteString(serviceArgs(c.Service))
	switch c.Op {
	case OpAddService, OpEditService:
		b.WriteString(settingArgs(c.Service))
	case OpDelDest:
		b.WriteString(" -r " + destAddr(c.Destination))
	case OpAddDest, OpEditDest:
		d := c.Destination
		b.WriteString(" -r " + destAddr(d))
		b.WriteString(methodFlag(d.Method))
		b.WriteString(" -w " + strconv.Itoa(d.Weight))
		if d.Upper != 0 {
			b.WriteString(" -x " + strconv.FormatUint(uint64(d.Upper), 10))
		}
		if d.Lower != 0 {
			b.WriteString(" -y " + strconv.FormatUint(uint64(d.Lower), 10))
		}
	}
	return b.String()
}

// serviceArgs names the service as ipvsadm's -t, -u or -f option does.
func serviceArgs(s Service) string {
	if s.FWMark != 0 {
		arg := "-f " + strconv.FormatUint(uint64(s.FWMark), 10)
		if s.IPv6 {
			arg += " -6"
		}
		return arg
	}
	opt := "--" + s.Protocol + "-service"
	switch strings.ToLower(s.Protocol) {
	case "tcp":
		opt = "-t"
	case "udp":
		opt = "-u"
	case "sctp":
		opt = "--sctp-service"
	}
	return opt + " " + netip.AddrPortFrom(s.Addr.Unmap(), s.Port).String()
}

func settingArgs(s Service) string {
	n := s.Normalize()
	arg := " -s " + n.Scheduler
	if len(n.Flags) > 0 {
		arg += " -b " + strings.Join(n.Flags, ",")
	}
	if n.Persistent != 0 {
		arg += " -p " + strconv.FormatUint(uint64(n.Persistent), 10)
		if n.IPv6 {
			arg += " -M " + strconv.Itoa(n.NetmaskBits)
		} else {
			arg += " -M " + maskV4(n.NetmaskBits)
		}
	}
	if n.OnePacket {
		arg += " -o"
	}
	return arg
}

// maskV4 writes a prefix length as a dotted netmask, as ipvsadm takes it.
func maskV4(bits int) string {
	m := ^uint32(0) << (32 - bits)
	if bits <= 0 {
		m = 0
	}
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

func destAddr(d Destination) string {
	return netip.AddrPortFrom(d.Addr.Unmap(), d.Port).String()
}

func methodFlag(m Forward) string {
	switch m {
	case Gate, "":
		return " -g"
	case Masq:
		return " -m"
	case IPIP:
		return " -i"
	}
	return " --forwarding-method " + string(m)
}
