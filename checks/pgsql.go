package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// checkPgSQL judges a PostgreSQL server as ldirectord does: log in with
// login and passwd to database, run the request as a query, and call the
// server alive when it returns at least one row. Like libpq under Perl's
// DBD::Pg, it tries TLS first and falls back to a plain connection.
func checkPgSQL(ctx context.Context, t Target) Result {
	query, reason := sqlSettings(t)
	if reason != "" {
		return down(reason)
	}
	kv := []string{
		"host=" + pgValue(t.Addr.Unmap().String()),
		fmt.Sprintf("port=%d", t.Port),
		"user=" + pgValue(t.Check.Login),
		"password=" + pgValue(t.Check.Passwd),
		"sslmode=prefer",
	}
	if t.Check.Database != "" {
		kv = append(kv, "dbname="+pgValue(t.Check.Database))
	}
	cfg, err := pgx.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		// ParseConfig errors may quote the connection string; keep the
		// passwd out of the reason.
		return down("pgsql settings are not valid")
	}
	dialer := cfg.DialFunc
	cfg.DialFunc = func(dctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer(dctx, network, addr)
		return c, noteShortage(ctx, err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if isTimeout(ctx, err) {
			return down(fmt.Sprintf("timeout after %s connecting and logging in", t.Timeout))
		}
		return down(pgConnectReason(err))
	}
	defer conn.Close(context.Background())
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := conn.Query(qctx, query)
	if err != nil {
		return down(pgQueryReason(ctx, t, err))
	}
	got := rows.Next()
	err = rows.Err()
	// Cancelling first keeps Close from reading every remaining row.
	cancel()
	rows.Close()
	switch {
	case err != nil:
		return down(pgQueryReason(ctx, t, err))
	case !got:
		return down("query returned no rows")
	}
	return up("query returned rows")
}

// pgValue quotes a keyword/value connection string value.
func pgValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// pgConnectReason says why connecting or logging in failed, with the
// server's own message when it sent one.
func pgConnectReason(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("login failed: %s %s: %s", pe.Severity, pe.Code, pe.Message)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		err = ce.Unwrap()
	}
	msg := short(err)
	if strings.Contains(msg, "connection refused") {
		if strings.HasPrefix(msg, "connect: ") {
			return msg
		}
		return "connect: " + msg
	}
	return "connect and login: " + msg
}

func pgQueryReason(ctx context.Context, t Target, err error) string {
	if isTimeout(ctx, err) {
		return fmt.Sprintf("timeout after %s waiting for the query's answer", t.Timeout)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("query failed: %s %s: %s", pe.Severity, pe.Code, pe.Message)
	}
	return "query failed: " + short(err)
}
