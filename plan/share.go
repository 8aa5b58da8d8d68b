package plan

import (
	"fmt"

	"github.com/ldirectord-go/ldirectord/conf"
)

// ShareKey names the check of p by everything that decides its verdict:
// the real's address and port, the protocol, the check's settings (type,
// service, request, receive, login, passwd, secret, ...) and its bounds.
// With sharedchecks, checks of one real by several virtuals that have the
// same key are one check. External checks also get the virtual's address
// and port as arguments, so for them those count too. The key holds
// secrets: it is never logged.
func ShareKey(p Probe) string {
	t := p.Target
	key := fmt.Sprintf("%s|%d|%s|%+v|%d|%d", t.Addr, t.Port, t.Protocol, t.Check, t.CheckCount, t.Timeout)
	if t.Check.Type == conf.CheckExternal || t.Check.Type == conf.CheckExternalPerl {
		key += fmt.Sprintf("|%s|%d|%d", t.VirtualAddr, t.VirtualPort, t.FWMark)
	}
	return key
}
