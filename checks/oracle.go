package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	return &tnsGuard{Conn: limit(c, maxBody)}, nil
}

// tnsGuard refuses a first packet whose length is shorter than a TNS
// header: go-ora subtracts the header from it unchecked and allocates the
// difference, 4 GiB for a server that answers "\x00\x01...". The bound
// on the bytes read keeps a server that streams from holding more.
type tnsGuard struct {
	net.Conn
	head []byte // the first packet's first bytes, until there are two
}

func (g *tnsGuard) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if len(g.head) < 2 && n > 0 {
		g.head = append(g.head, p[:min(n, 2-len(g.head))]...)
		if len(g.head) == 2 {
			if length := int(g.head[0])<<8 | int(g.head[1]); length < 8 {
				return 0, fmt.Errorf("not a TNS packet: length %d", length)
			}
		}
	}
	return n, err
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
