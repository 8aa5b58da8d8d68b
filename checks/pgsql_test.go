package checks

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// pgBin finds a PostgreSQL server program of Debian's postgresql package.
func pgBin(t *testing.T, name string) string {
	t.Helper()
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(m) == 0 {
		t.Fatalf("%s not found: install the Debian package postgresql", name)
	}
	return m[len(m)-1]
}

// startPostgres runs a PostgreSQL server as the postgres user on loopback
// with a fresh cluster: superuser alice, password wonderland, password
// (scram) authentication over TCP.
func startPostgres(t *testing.T) uint16 {
	t.Helper()
	initdb, postgres := pgBin(t, "initdb"), pgBin(t, "postgres")
	dir := shortTempDir(t, "pg")
	writeFile(t, filepath.Join(dir, "pw"), "wonderland\n")
	chown(t, dir, "postgres")
	data := filepath.Join(dir, "data")
	runAs(t, "postgres", initdb, "-D", data, "-U", "alice", "--pwfile", filepath.Join(dir, "pw"),
		"--auth=scram-sha-256", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C")
	port := freePort(t)
	d := startDaemonAs(t, "postgres", postgres, "-D", data, "-k", dir, "-h", "127.0.0.1,::1",
		"-p", fmt.Sprint(port), "-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", "max_connections=20")
	waitListening(t, d, 30*time.Second, loopback(port))
	// It listens before it takes logins ("the database system is starting
	// up"): wait until a login and a query go through.
	ready := conf.Check{Service: "pgsql", Login: "alice", Passwd: "wonderland", Database: "postgres", Request: "SELECT 1"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r := checkPgSQL(ctx, targetAt(loopback(port), 5*time.Second, ready))
		cancel()
		if r.Up {
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL on port %d did not take logins within 30s: %s", port, r.Reason)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestPostgres proves the pgsql check against a real PostgreSQL server.
func TestPostgres(t *testing.T) {
	// Parallel with the other daemons: their start-ups overlap.
	t.Parallel()
	port := startPostgres(t)
	good := conf.Check{Service: "pgsql", Login: "alice", Passwd: "wonderland", Database: "postgres", Request: "/SELECT 1"}
	expectDaemon(t, checkPgSQL, conf.TCP, port, []daemonCase{
		{"one row", good, true, "query returned rows"},
		{"many rows", with(good, func(c *conf.Check) { c.Request = "SELECT generate_series(1, 1000000)" }), true, "query returned rows"},
		{"no rows", with(good, func(c *conf.Check) { c.Request = "/SELECT 1 WHERE false" }), false, "query returned no rows"},
		{"bad query", with(good, func(c *conf.Check) { c.Request = "/SELECT * FROM nowhere" }), false, "query failed: ERROR 42P01"},
		{"wrong passwd", with(good, func(c *conf.Check) { c.Passwd = "looking-glass" }), false, "login failed: FATAL 28P01"},
		{"unknown database", with(good, func(c *conf.Check) { c.Database = "nowhere" }), false, "login failed: FATAL 3D000"},
		{"no login", with(good, func(c *conf.Check) { c.Login = "" }), false, "needs a login and a request"},
		{"no request", with(good, func(c *conf.Check) { c.Request = "/" }), false, "needs a login and a request"},
	}, "looking-glass", "wonderland")
	// A short timeout keeps the test from waiting for the query.
	t.Run("slow query", func(t *testing.T) {
		expect(t, checkPgSQL, targetAt(loopback(port), testTimeout, with(good, func(c *conf.Check) { c.Request = "SELECT pg_sleep(30)" })), false, "timeout after 1.5s waiting for the query's answer")
	})
}

// TestPgSQLFailures covers servers that are not PostgreSQL or not there.
func TestPgSQLFailures(t *testing.T) {
	t.Parallel()
	check := conf.Check{Service: "pgsql", Login: "alice", Passwd: "wonderland", Database: "postgres", Request: "SELECT 1"}
	cases := []serverCase{
		{"never answers", silent, check, false, "timeout after 1.5s connecting and logging in"},
		{"garbage then close", func(c net.Conn) {
			io.WriteString(c, "Z\x00\x00\x00\x02garbage that is no PostgreSQL message\r\n")
		}, check, false, "connect and login"},
	}
	expectServers(t, checkPgSQL, cases)
	expectRefused(t, checkPgSQL, check, "connect: ", "connection refused")
}
