package checks

import (
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/conf"
)

// No Oracle server is packaged for Debian, so the oracle check is proven
// against scripted servers: TestOracleLogon against oracleDB
// (oracle_server_test.go), which logs in with O5LOGON and the 12c verifier
// and answers one query; TestOracleFailures against TNS listeners that
// refuse, say nothing or say garbage.

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

// TestOracleLogon proves the verdicts of a whole logon and query against
// oracleDB, which checks the passwd as Oracle 19c does.
func TestOracleLogon(t *testing.T) {
	t.Parallel()
	const query = "SELECT enabled FROM director WHERE enabled = 1"
	good := conf.Check{Service: "oracle", Login: "scott", Passwd: "tiger-secret", Database: "ORCL", Request: "/" + query}
	db := func(rows ...string) *oracleDB { return newOracleDB(t, "ORCL", "scott", "tiger-secret", query, rows...) }
	silentAt := func(request string) func(net.Conn) {
		d := db("1")
		d.hangAt = request
		return d.serve
	}
	cases := []serverCase{
		{"enabled row", db("1").serve, good, true, "query returned rows"},
		{"many rows", db("1", "1", "1").serve, good, true, "query returned rows"},
		{"no rows", db().serve, good, false, "query returned no rows"},
		// Perl's check_sql reads no receive; neither does the check.
		{"receive ignored", db("1").serve, with(good, func(c *conf.Check) { c.Receive = "^never$" }), true, "query returned rows"},
		{"user in other case", db("1").serve, with(good, func(c *conf.Check) { c.Login = "SCOTT" }), true, "query returned rows"},
		{"wrong passwd", db("1").serve, with(good, func(c *conf.Check) { c.Passwd = "tiger-wrong" }), false,
			"login failed: ORA-01017: invalid username/password; logon denied"},
		{"passwd in other case", db("1").serve, with(good, func(c *conf.Check) { c.Passwd = "TIGER-SECRET" }), false, "ORA-01017"},
		{"unknown user", db("1").serve, with(good, func(c *conf.Check) { c.Login = "adams" }), false, "ORA-01017"},
		{"unknown SID", db("1").serve, with(good, func(c *conf.Check) { c.Database = "XE" }), false, "ORA-12505"},
		{"other query", db("1").serve, with(good, func(c *conf.Check) { c.Request = "/SELECT 1 FROM dual" }), false,
			"query failed: ORA-00942: table or view does not exist"},
		{"silent after logon", silentAt("version"), good, false, "timeout after 1.5s"},
		// go-ora runs a query of its own after logon, without the context.
		{"silent at the driver's query", silentAt("other query"), good, false, "timeout after 1.5s"},
		{"silent at the query", silentAt("query"), good, false, "timeout after 1.5s"},
	}
	expectServers(t, checkOracle, cases, "tiger-secret", "tiger-wrong", "TIGER-SECRET")
	t.Run("IPv6", func(t *testing.T) {
		t.Parallel()
		expect(t, checkOracle, targetAt(serve(t, "tcp6", db("1").serve), testTimeout, good), true, "query returned rows")
	})
	// Perl's check_sql disconnects after the query; the check logs off
	// too, after closing the query's cursor.
	t.Run("logs off", func(t *testing.T) {
		t.Parallel()
		d := db("1", "1")
		expect(t, checkOracle, targetAt(serve(t, "tcp4", d.serve), testTimeout, good), true, "query returned rows")
		got := d.answered()
		if i := slices.Index(got, "query"); i < 0 || !slices.Equal(got[i+1:], []string{"close", "logoff"}) {
			t.Fatalf("server answered %q; want the query, then a cursor close and a logoff", got)
		}
	})
	t.Run("one-line reason", func(t *testing.T) {
		t.Parallel()
		r := expect(t, checkOracle, targetAt(serve(t, "tcp4", db("1").serve), testTimeout,
			with(good, func(c *conf.Check) { c.Passwd = "tiger-wrong" })), false, "ORA-01017")
		if strings.ContainsAny(r.Reason, "\r\n") {
			t.Fatalf("reason %q spans lines; Oracle ends its messages with a newline", r.Reason)
		}
	})
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
