package checks

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

func TestSMTP(t *testing.T) {
	t.Parallel()
	ok := strconv.Itoa(exim(t, ""))
	noConnect := strconv.Itoa(exim(t, "acl_smtp_connect = deny_all"))
	noHelo := strconv.Itoa(exim(t, "acl_smtp_helo = deny_all"))
	slow := serve(t, "tcp4", func(c net.Conn) {
		time.Sleep(4 * time.Second)
		fmt.Fprint(c, "220 late.test.invalid ESMTP\r\n")
	})
	cases := []struct {
		name, service, addr string
		up                  bool
		reason              string
	}{
		{"exim", "smtp", "127.0.0.1:" + ok, true, "banner and EHLO accepted"},
		{"exim submission", "submission", "127.0.0.1:" + ok, true, "banner and EHLO accepted"},
		{"exim ipv6", "smtp", "[::1]:" + ok, true, "banner and EHLO accepted"},
		{"connection refused by ACL", "smtp", "127.0.0.1:" + noConnect, false, "banner: 550"},
		{"EHLO and HELO refused", "submission", "127.0.0.1:" + noHelo, false, "EHLO reply: 550"},
		{"refused", "smtp", refused(t, "tcp4"), false, "connect: connection refused"},
		{"accepts but never answers", "smtp", mute(t, "tcp4"), false, "timeout after 2s waiting for banner"},
		{"answers too slowly", "smtp", slow, false, "timeout after 2s waiting for banner"},
		{"garbage", "smtp", garbage(t, "tcp4"), false, "banner: not SMTP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			expect(t, target(t, c.addr, conf.CheckNegotiate, c.service), c.up, c.reason)
		})
	}
}
