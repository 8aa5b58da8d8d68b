package checks

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	go_ora "github.com/sijms/go-ora/v2"
	"github.com/sijms/go-ora/v2/network"
)

// checkOracle judges an Oracle database as ldirectord does: log in with
// login and passwd to the instance whose SID is database, run the request
// as a query, and call the server alive when it returns at least one row.
// It speaks Oracle's TNS protocol through the pure-Go go-ora driver.
func checkOracle(ctx context.Context, t Target) (r Result) {
	defer recoverDriver("Oracle", &r)
	query, reason := sqlSettings(t)
	if reason != "" {
		return down(reason)
	}
	options := map[string]string{}
	if t.Check.Database != "" {
		options["SID"] = t.Check.Database
	}
	if dl, ok := ctx.Deadline(); ok {
		options["CONNECTION TIMEOUT"] = strconv.Itoa(int(time.Until(dl)/time.Second) + 1)
	}
	url := go_ora.BuildUrl(t.Addr.Unmap().String(), int(t.Port), "", t.Check.Login, t.Check.Passwd, options)
	connector, ok := go_ora.NewConnector(url).(*go_ora.OracleConnector)
	if !ok {
		return down("the Oracle driver has no connector to dial with")
	}
	// go-ora sets a deadline of its own (CONNECTION TIMEOUT from now)
	// before every read and write, so a deadline on the connection would
	// not hold: the connection is closed when the check's time is up
	// instead, which also ends the logoff that closing a connection sends
	// to a server that no longer answers.
	connector.Dialer(closingDialer{ctx})
	db := sql.OpenDB(connector)
	defer db.Close()
	r = sqlVerdict(ctx, t, db, query, oracleReason)
	r.Reason = redact(r.Reason, t.Check.Passwd)
	return r
}

// closingDialer dials connections that close when the check's context
// ends.
type closingDialer struct{ check context.Context }

func (d closingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, noteShortage(d.check, err)
	}
	context.AfterFunc(d.check, func() { _ = c.Close() })
	return c, nil
}

// oracleReason shortens an Oracle driver error to its ORA- message, which
// the server ends with a newline.
func oracleReason(err error) string {
	var oe *network.OracleError
	if errors.As(err, &oe) && oe.ErrMsg != "" {
		return strings.TrimSpace(oe.ErrMsg)
	}
	return short(err)
}
