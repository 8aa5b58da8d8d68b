package checks

import (
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// No Oracle server is packaged for Debian, so the oracle check is proven
// against a scripted TNS listener that speaks the first exchange: it reads
// the client's CONNECT packet and answers as a real listener does when it
// refuses. An "up" verdict needs a whole Oracle logon (O5LOGON) and is not
// proven here.

// tnsRefuse is a TNS REFUSE packet (type 4) carrying a listener's
// error descriptor.
func tnsRefuse(descriptor string) []byte {
	b := make([]byte, 12+len(descriptor))
	binary.BigEndian.PutUint16(b[0:], uint16(len(b)))
	b[4] = 4    // REFUSE
	b[8] = 0x22 // user reason
	binary.BigEndian.PutUint16(b[10:], uint16(len(descriptor)))
	copy(b[12:], descriptor)
	return b
}

// readTNSPacket reads one TNS packet with a two-byte length, as a listener
// sees a client's first packet, and returns its type.
func readTNSPacket(c net.Conn) (byte, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(head))
	if n > 8 {
		if _, err := io.CopyN(io.Discard, c, int64(n-8)); err != nil {
			return 0, err
		}
	}
	return head[4], nil
}

func TestOracleFailures(t *testing.T) {
	t.Parallel()
	check := conf.Check{Service: "oracle", Login: "scott", Passwd: "tiger-secret", Database: "ORCL", Request: "/SELECT 1 FROM dual"}
	refuse := func(descriptor string) func(net.Conn) {
		return func(c net.Conn) {
			typ, err := readTNSPacket(c)
			if err != nil || typ != 1 { // 1: CONNECT
				t.Errorf("first packet: type %d, %v; want a TNS CONNECT", typ, err)
				return
			}
			c.Write(tnsRefuse(descriptor))
		}
	}
	cases := []serverCase{
		{"unknown SID", refuse("(DESCRIPTION=(TMP=)(VSNNUM=0)(ERR=12505)(ERROR_STACK=(ERROR=(CODE=12505)(EMFI=4))))"), check, false, "ORA-12505"},
		{"refused without reason", refuse(""), check, false, "ORA-12564"},
		{"never answers", silent, check, false, "timeout after 1.5s"},
		{"garbage", func(c net.Conn) {
			readTNSPacket(c)
			io.WriteString(c, "\x00\x0c\x00\x00\xffgarbage-garbage")
		}, check, false, "login failed"},
		{"closes at once", func(net.Conn) {}, check, false, "login failed"},
	}
	expectServers(t, checkOracle, cases, "tiger-secret")
	expectRefused(t, checkOracle, check, "connection refused")
	t.Run("no request", func(t *testing.T) {
		t.Parallel()
		c := check
		c.Request = "/"
		expect(t, checkOracle, targetAt(refused(t, "tcp4"), testTimeout, c), false, "needs a login and a request")
	})
}
