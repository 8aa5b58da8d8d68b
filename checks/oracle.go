package checks

import (
	"context"
	"database/sql"
	"errors"
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
	start := time.Now()
	defer recoverDriver(start, "Oracle", &r)
	query, reason := sqlSettings(t)
	if reason != "" {
		return verdictSince(start, false, reason)
	}
	options := map[string]string{}
	if t.Check.Database != "" {
		options["SID"] = t.Check.Database
	}
	if dl, ok := ctx.Deadline(); ok {
		// The context bounds every step; the driver's own timeout covers
		// the steps that do not watch the context.
		options["CONNECTION TIMEOUT"] = strconv.Itoa(int(time.Until(dl)/time.Second) + 1)
	}
	url := go_ora.BuildUrl(t.Addr.Unmap().String(), int(t.Port), "", t.Check.Login, t.Check.Passwd, options)
	db := sql.OpenDB(go_ora.NewConnector(url))
	defer db.Close()
	r = sqlVerdict(ctx, t, start, db, query, oracleReason)
	r.Reason = redact(r.Reason, t.Check.Passwd)
	return r
}

// oracleReason shortens an Oracle driver error to its ORA- message.
func oracleReason(err error) string {
	var oe *network.OracleError
	if errors.As(err, &oe) && oe.ErrMsg != "" {
		return oe.ErrMsg
	}
	return short(err)
}

// redact keeps a secret out of a reason built from a library's error
// text, in case the library ever echoes its connection string.
func redact(reason, secret string) string {
	if len(secret) < 3 {
		return reason
	}
	return strings.ReplaceAll(reason, secret, "***")
}
