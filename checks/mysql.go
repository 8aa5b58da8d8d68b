package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// checkMySQL judges a MySQL or MariaDB server as ldirectord does: log in
// with login and passwd to database, run the request as a query, and call
// the server alive when it returns at least one row. The rows' contents
// are not looked at.
func checkMySQL(ctx context.Context, t Target) (r Result) {
	defer recoverDriver("MySQL", &r)
	query, reason := sqlSettings(t)
	if reason != "" {
		return down(reason)
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = hostPort(t)
	cfg.User = t.Check.Login
	cfg.Passwd = t.Check.Passwd
	cfg.DBName = t.Check.Database
	// The driver would log every failed read to stderr; the verdict's
	// reason says it instead.
	cfg.Logger = mysql.Logger(log.New(io.Discard, "", 0))
	if dl, ok := ctx.Deadline(); ok {
		// The context bounds every step; these bound the socket too, in
		// case a read ignores cancellation. They end a little after the
		// context so that a timeout is reported as one.
		bound := time.Until(dl) + 500*time.Millisecond
		cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = bound, bound, bound
	}
	cfg.DialFunc = func(dctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Timeout: cfg.Timeout}
		c, err := nd.DialContext(dctx, network, addr)
		return c, noteShortage(ctx, err)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return down("mysql settings: " + err.Error())
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	return sqlVerdict(ctx, t, db, query, mysqlReason)
}

// recoverDriver turns a panic of a database driver into a down verdict.
// The MySQL driver indexes past the end of a short handshake packet, so a
// server sending garbage would otherwise take the whole daemon down.
func recoverDriver(protocol string, r *Result) {
	if p := recover(); p != nil {
		*r = down(fmt.Sprintf("not a %s answer: the client library failed on it: %v", protocol, p))
	}
}

// mysqlReason shortens a MySQL driver error. Server errors carry their
// number and message, which never hold the passwd.
func mysqlReason(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Sprintf("error %d: %s", me.Number, me.Message)
	}
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, mysql.ErrMalformPkt) {
		return "not a MySQL answer: " + err.Error()
	}
	return short(err)
}

// sqlSettings returns the query a SQL check runs, or the reason the check
// cannot run: ldirectord requires a login and a request for every SQL
// service.
func sqlSettings(t Target) (query, reason string) {
	query = strings.TrimPrefix(t.Check.Request, "/")
	if t.Check.Login == "" || strings.TrimSpace(query) == "" {
		return "", fmt.Sprintf("%s check needs a login and a request (an SQL query)", t.Check.Service)
	}
	return query, ""
}

// sqlVerdict logs in through db, runs query and reads at most one row.
// explain shortens the driver's errors.
func sqlVerdict(ctx context.Context, t Target, db *sql.DB, query string, explain func(error) string) Result {
	conn, err := db.Conn(ctx)
	if err != nil {
		if isTimeout(ctx, err) {
			return down(fmt.Sprintf("timeout after %s connecting and logging in", t.Timeout))
		}
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			return stepFailure(ctx, t, "connecting", "connect", err)
		}
		return down("login failed: " + explain(err))
	}
	defer conn.Close()
	// Cancelling the query's context before closing its rows makes the
	// driver drop the connection instead of reading every remaining row.
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := conn.QueryContext(qctx, query)
	if err != nil {
		if isTimeout(ctx, err) {
			return down(fmt.Sprintf("timeout after %s waiting for the query's answer", t.Timeout))
		}
		return down("query failed: " + explain(err))
	}
	got := rows.Next()
	err = rows.Err()
	cancel()
	rows.Close()
	switch {
	case err != nil && isTimeout(ctx, err):
		return down(fmt.Sprintf("timeout after %s reading the query's rows", t.Timeout))
	case err != nil:
		return down("query failed: " + explain(err))
	case !got:
		return down("query returned no rows")
	}
	return up("query returned rows")
}
