package checks

import (
	"bytes"
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
)

// This file runs the real daemons from Debian that the checks are tested
// against, each with a configuration of the test's own on free loopback
// ports, and stops them when the test ends.

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
// failure messages, and stops its process group at cleanup (d.stop, then
// SIGKILL).
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
		if t.Failed() {
			t.Logf("%s output:\n%s", name, d.Output())
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

// waitFor polls ready until it is true, and fails the test with the
// daemon's output when the daemon exits first or within passes; what
// names the wait in the failure ("listening on 127.0.0.1:80").
func (d *daemon) waitFor(t *testing.T, within time.Duration, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ready() {
		select {
		case <-d.done:
			t.Fatalf("%s exited before %s:\n%s", d.cmd.Path, what, d.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still not %s after %v:\n%s", d.cmd.Path, what, within, d.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitListening waits until every TCP address accepts connections.
func waitListening(t *testing.T, d *daemon, within time.Duration, addrs ...netip.AddrPort) {
	t.Helper()
	for _, a := range addrs {
		d.waitFor(t, within, "listening on "+a.String(), func() bool {
			c, err := net.DialTimeout("tcp", a.String(), time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
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
	d.waitFor(t, within, fmt.Sprintf("printing %q", want), func() bool { return strings.Contains(d.Output(), want) })
}

// waitUDPBound waits until some socket is bound to the loopback UDP port,
// as /proc/net/udp shows, for UDP daemons that print nothing when ready.
func waitUDPBound(t *testing.T, d *daemon, within time.Duration, port uint16) {
	t.Helper()
	want := fmt.Sprintf("0100007F:%04X", port)
	d.waitFor(t, within, fmt.Sprintf("binding UDP port %d", port), func() bool {
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			t.Fatalf("read /proc/net/udp: %v", err)
		}
		return strings.Contains(string(b), want)
	})
}
