package checks

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// startMariaDB runs a MariaDB server (Debian mariadb-server) on loopback
// with a fresh data directory: user alice, password wonderland, database
// ldtest with a table of one row.
func startMariaDB(t *testing.T) uint16 {
	t.Helper()
	installDB := need(t, "mariadb-server", "mariadb-install-db", "mysql_install_db")
	server := need(t, "mariadb-server", "mariadbd", "mysqld")
	dir := shortTempDir(t, "my")
	data := filepath.Join(dir, "data")
	initSQL := filepath.Join(dir, "init.sql")
	writeFile(t, initSQL, `
CREATE DATABASE IF NOT EXISTS ldtest;
CREATE TABLE IF NOT EXISTS ldtest.director (enabled INT);
DELETE FROM ldtest.director;
INSERT INTO ldtest.director VALUES (1);
CREATE USER IF NOT EXISTS 'alice'@'127.0.0.1' IDENTIFIED BY 'wonderland';
GRANT ALL ON ldtest.* TO 'alice'@'127.0.0.1';
CREATE USER IF NOT EXISTS 'alice'@'::1' IDENTIFIED BY 'wonderland';
GRANT ALL ON ldtest.* TO 'alice'@'::1';
`)
	chown(t, dir, "mysql")
	runAs(t, "", installDB, "--no-defaults", "--user=mysql", "--datadir="+data,
		"--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve")
	port := freePort(t)
	d := startDaemon(t, server, "--no-defaults", "--user=mysql", "--datadir="+data,
		"--socket="+filepath.Join(dir, "sock"), "--pid-file="+filepath.Join(dir, "pid"),
		"--bind-address=127.0.0.1,::1", fmt.Sprintf("--port=%d", port), "--skip-name-resolve",
		"--skip-log-bin", "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
		"--innodb-flush-log-at-trx-commit=0", "--init-file="+initSQL)
	// A clean shutdown takes seconds and the data is thrown away.
	d.stop = syscall.SIGKILL
	waitListening(t, d, 60*time.Second, loopback(port))
	return port
}

// TestMariaDB proves the mysql check against a real MariaDB server.
func TestMariaDB(t *testing.T) {
	// Parallel with the other daemons: their start-ups overlap.
	t.Parallel()
	port := startMariaDB(t)
	good := conf.Check{Service: "mysql", Login: "alice", Passwd: "wonderland", Database: "ldtest",
		Request: "/SELECT * FROM director WHERE enabled = 1"}
	expectDaemon(t, checkMySQL, conf.TCP, port, []daemonCase{
		{"enabled row", good, true, "query returned rows"},
		{"many rows", with(good, func(c *conf.Check) { c.Request = "SELECT seq FROM seq_1_to_1000000" }), true, "query returned rows"},
		{"no rows", with(good, func(c *conf.Check) { c.Request = "/SELECT * FROM director WHERE enabled = 0" }), false, "query returned no rows"},
		{"bad query", with(good, func(c *conf.Check) { c.Request = "/SELECT * FROM nowhere" }), false, "query failed: error 1146"},
		{"wrong passwd", with(good, func(c *conf.Check) { c.Passwd = "looking-glass" }), false, "login failed: error 1045"},
		{"unknown database", with(good, func(c *conf.Check) { c.Database = "nowhere" }), false, "login failed: error 1044"},
		{"no login", with(good, func(c *conf.Check) { c.Login = "" }), false, "needs a login and a request"},
	}, "looking-glass", "wonderland")
	// A short timeout keeps the test from waiting for the query.
	t.Run("slow query", func(t *testing.T) {
		expect(t, checkMySQL, targetAt(loopback(port), testTimeout, with(good, func(c *conf.Check) { c.Request = "SELECT SLEEP(30)" })), false, "timeout after 1.5s")
	})
}

// TestMySQLFailures covers servers that are not MySQL or not there.
func TestMySQLFailures(t *testing.T) {
	t.Parallel()
	check := conf.Check{Service: "mysql", Login: "alice", Passwd: "wonderland", Database: "ldtest", Request: "SELECT 1"}
	cases := []serverCase{
		{"never answers", silent, check, false, "timeout after 1.5s connecting and logging in"},
		{"garbage then close", func(c net.Conn) {
			io.WriteString(c, "\x05\x00\x00\x00garbage that is no MySQL handshake\r\n")
		}, check, false, "not a MySQL answer"},
	}
	expectServers(t, checkMySQL, cases)
	expectRefused(t, checkMySQL, check, "connect: ", "connection refused")
}
