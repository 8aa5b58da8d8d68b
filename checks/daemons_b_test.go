package checks

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ldirectord-go/ldirectord/conf"
)

// This file holds what the tests of the imap, pop, ldap, mysql, pgsql,
// radius, oracle, sip and nntp checks share: scripted servers on loopback,
// a way to find the real daemons from apt, and the verdict assertions.

// testTimeout is the check timeout of the down cases; margin is how much
// longer than the timeout a check may take on a loaded 2-core machine.
const (
	testTimeout = 1500 * time.Millisecond
	margin      = 3 * time.Second
)

// scriptedServer listens on loopback TCP and runs handle for each
// connection until the test ends.
func scriptedServer(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	return scriptedServerAt(t, "127.0.0.1:0", handle)
}

// scriptedServerAt is scriptedServer listening on addr ("[::1]:0").
func scriptedServerAt(t *testing.T, addr string, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// silent accepts and then never says a word, until the peer goes away.
func silent(c net.Conn) { io.Copy(io.Discard, c) }

// sayThenHold writes s and keeps the connection open without answering.
func sayThenHold(s string) func(net.Conn) {
	return func(c net.Conn) {
		io.WriteString(c, s)
		io.Copy(io.Discard, c)
	}
}

// refusedAddr is a loopback TCP port that nothing listens on.
func refusedAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// freePort returns a loopback TCP port free at the time of asking, for
// daemons that must be told their port.
func freePort(t *testing.T) uint16 { return refusedAddr(t).Port() }

func targetAt(ap netip.AddrPort, timeout time.Duration, c conf.Check) Target {
	c.Type = conf.CheckNegotiate
	return Target{Addr: ap.Addr(), Port: ap.Port(), Protocol: conf.TCP, Check: c, Timeout: timeout}
}

// runCheck runs f with the target's timeout as the context deadline, as
// the prober does.
func runCheck(f Func, tg Target) Result {
	ctx, cancel := context.WithTimeout(context.Background(), tg.Timeout)
	defer cancel()
	return f(ctx, tg)
}

// wantVerdict fails unless r has the wanted verdict, its reason contains
// every part, and it came within the timeout plus the margin.
func wantVerdict(t *testing.T, r Result, up bool, timeout time.Duration, parts ...string) {
	t.Helper()
	t.Logf("up=%v after %v: %s", r.Up, r.Duration.Round(time.Millisecond), r.Reason)
	if r.Up != up {
		t.Errorf("verdict up=%v, want up=%v (reason %q)", r.Up, up, r.Reason)
	}
	for _, p := range parts {
		if !strings.Contains(r.Reason, p) {
			t.Errorf("reason %q does not contain %q", r.Reason, p)
		}
	}
	if r.Duration <= 0 || r.Duration > timeout+margin {
		t.Errorf("duration %v, want within (0, %v]", r.Duration, timeout+margin)
	}
}

// needProgram returns the path of a program from a Debian package, and
// fails the test naming the package when it is not installed.
func needProgram(t *testing.T, pkg string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: install the Debian package %s (make deps)", candidates[0], pkg)
	return ""
}

// writeSelfSigned writes a throwaway certificate and key for 127.0.0.1
// into dir and returns their paths; the daemons' TLS listeners use them.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// shortTempDir is a temporary directory with a short path, for daemons
// that put unix sockets in it (sun_path holds 108 bytes), readable by the
// unprivileged users the daemons switch to.
func shortTempDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("chmod %s: %v", dir, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// daemon is a server process a test started; it is stopped when the test
// ends.
type daemon struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
	// stop is the signal that ends the daemon's process group at cleanup:
	// SIGTERM unless a test picks a faster one.
	stop syscall.Signal
}

// startDaemon runs a daemon in the foreground with its output kept for
// failure messages, and stops it (SIGTERM, then SIGKILL) at cleanup.
func startDaemon(t *testing.T, name string, args ...string) *daemon {
	t.Helper()
	return startDaemonAs(t, "", name, args...)
}

// startDaemonAs is startDaemon as the given system user ("" for root),
// for daemons that refuse to run as root.
func startDaemonAs(t *testing.T, user, name string, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(name, args...), log: &bytes.Buffer{}, done: make(chan struct{}), stop: syscall.SIGTERM}
	d.cmd.Stdout = &lockedWriter{w: d.log}
	d.cmd.Stderr = d.cmd.Stdout
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: credential(t, user)}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		pgid := d.cmd.Process.Pid
		syscall.Kill(-pgid, d.stop)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-d.done
		}
	})
	return d
}

// Output is what the daemon printed so far.
func (d *daemon) Output() string {
	w := d.cmd.Stdout.(*lockedWriter)
	w.mu.Lock()
	defer w.mu.Unlock()
	return d.log.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitListening waits until every TCP address accepts connections, and
// fails the test with the daemon's output when one does not in time.
func waitListening(t *testing.T, d *daemon, within time.Duration, addrs ...netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a.String(), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-d.done:
				t.Fatalf("%s exited before listening on %s:\n%s", d.cmd.Path, a, d.Output())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not listening on %s after %v:\n%s", d.cmd.Path, a, within, d.Output())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func loopback(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

func loopback6(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.IPv6Loopback(), port)
}

// credential is the uid and gid of a system user, nil for "".
func credential(t *testing.T, name string) *syscall.Credential {
	t.Helper()
	if name == "" {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		pkg := map[string]string{"postgres": "postgresql", "mysql": "mariadb-server"}[name]
		t.Fatalf("system user %s: %v: install the Debian package %s, which creates it", name, err, pkg)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// runAs runs a set-up command to its end as a system user and fails the
// test with its output when it fails.
func runAs(t *testing.T, user, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credential(t, user)}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// chown gives dir and everything in it to a system user.
func chown(t *testing.T, dir, name string) {
	t.Helper()
	c := credential(t, name)
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.Uid), int(c.Gid))
	})
	if err != nil {
		t.Fatalf("chown %s: %v", dir, err)
	}
}

// waitOutput waits until the daemon has printed want, for daemons whose
// readiness cannot be seen by connecting (UDP servers).
func waitOutput(t *testing.T, d *daemon, within time.Duration, want string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(d.Output(), want) {
		select {
		case <-d.done:
			t.Fatalf("%s exited before printing %q:\n%s", d.cmd.Path, want, d.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %v:\n%s", d.cmd.Path, want, within, d.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scriptedUDP answers each datagram on loopback with reply(datagram); a
// nil answer sends nothing.
func scriptedUDP(t *testing.T, reply func([]byte) []byte) netip.AddrPort {
	t.Helper()
	return scriptedUDPAt(t, "127.0.0.1:0", reply)
}

// scriptedUDPAt is scriptedUDP listening on addr ("[::1]:0").
func scriptedUDPAt(t *testing.T, addr string, reply func([]byte) []byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("listen on loopback UDP: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(append([]byte(nil), buf[:n]...)); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// freeUDPPort returns a loopback UDP port free at the time of asking.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback UDP: %v", err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
}

// waitUDPBound waits until some socket is bound to the loopback UDP port,
// as /proc/net/udp shows, for UDP daemons that print nothing when ready.
func waitUDPBound(t *testing.T, d *daemon, within time.Duration, port uint16) {
	t.Helper()
	want := fmt.Sprintf("0100007F:%04X", port)
	deadline := time.Now().Add(within)
	for {
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			t.Fatalf("read /proc/net/udp: %v", err)
		}
		if strings.Contains(string(b), want) {
			return
		}
		select {
		case <-d.done:
			t.Fatalf("%s exited before binding UDP port %d:\n%s", d.cmd.Path, port, d.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not bind UDP port %d within %v:\n%s", d.cmd.Path, port, within, d.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNothingLeftBehindB runs the imap, pop, ldap, mysql, pgsql, radius,
// oracle, sip and nntp checks to a timeout, a refusal and a success, and
// asks that none leaves a goroutine behind.
func TestNothingLeftBehindB(t *testing.T) {
	// Not parallel: goroutines of other tests would count.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("checks", func(t *testing.T) {
		silentAt := scriptedServer(t, silent)
		refused := refusedAddr(t)
		greets := scriptedServer(t, sayThenHold("200 ready\r\n"))
		sql := conf.Check{Login: "alice", Passwd: "wonderland", Database: "db", Request: "SELECT 1"}
		funcs := map[string]Func{
			"imap": checkIMAP, "imaps": checkIMAPS, "pop": checkPOP, "pops": checkPOPS,
			"ldap": checkLDAP, "ldaps": checkLDAPS, "mysql": checkMySQL, "pgsql": checkPgSQL,
			"oracle": checkOracle, "sip": checkSIP, "nntp": checkNNTP,
		}
		for name, f := range funcs {
			for _, ap := range []netip.AddrPort{silentAt, refused} {
				r := runCheck(f, targetAt(ap, 300*time.Millisecond, sql))
				if r.Up {
					t.Errorf("%s against %v: up, want down", name, ap)
				}
			}
		}
		r := runCheck(checkRADIUS, targetAt(scriptedUDP(t, func([]byte) []byte { return nil }), 300*time.Millisecond, sql))
		if r.Up {
			t.Errorf("radius against a silent server: up, want down")
		}
		if r := runCheck(checkNNTP, targetAt(greets, time.Second, conf.Check{})); !r.Up {
			t.Errorf("nntp against a greeting server: down (%s)", r.Reason)
		}
	})
}
