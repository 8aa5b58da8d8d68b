package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

// binary is the ldirectord built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	if inGuest() {
		// TestVM put the daemon, built static, beside this binary.
		binary = "/bin/ldirectord"
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ldirectord-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "ldirectord")
	out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ldirectord: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's world: a directory for the pid file, the file table and
// the configuration.
type env struct {
	t     *testing.T
	dir   string
	table string
}

func newEnv(t *testing.T) *env {
	dir := t.TempDir()
	e := &env{t: t, dir: dir, table: filepath.Join(dir, "table.json")}
	t.Cleanup(func() {
		// Stop a daemon a failed test left behind.
		if pid, alive, _ := readPid(e.pidFile("l.cf")); alive {
			e.ld("l.cf", "stop")
			if isLdirectord(pid) {
				_ = sendSignal(pid, 9)
			}
		}
	})
	return e
}

func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

func (e *env) pidFile(cfg string) string { return filepath.Join(e.dir, "ldirectord."+cfg+".pid") }

func (e *env) write(name, text string) string {
	e.t.Helper()
	p := e.path(name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// config writes l.cf with the text given, and a logfile in the test's
// directory unless the text names another.
func (e *env) config(text string) string {
	if !strings.Contains(text, "logfile") && !strings.Contains(text, "supervised") {
		text = fmt.Sprintf("logfile = %q\n", e.path("ld.log")) + text
	}
	return e.write("l.cf", text)
}

func (e *env) environ() []string {
	env := append(os.Environ(), pidDirEnv+"="+e.dir, confDirEnv+"="+e.dir)
	if inGuest() {
		return env // the kernel's own table
	}
	return append(env, tableEnv+"=file:"+e.table)
}

// read lists the table the daemon writes: the file table on the host, the
// kernel's in the VM.
func (e *env) read() ([]kernel.Virtual, error) {
	if inGuest() {
		t, err := kernel.NewNetlink()
		if err != nil {
			return nil, err
		}
		defer t.(interface{ Close() error }).Close()
		return t.List()
	}
	if _, err := os.Stat(e.table); err != nil {
		return nil, nil
	}
	t, err := tablefile.Open(e.table)
	if err != nil {
		return nil, err
	}
	return t.List()
}

// ld runs the binary with args, cfg being the configuration file name in
// the test's directory ("" for none).
func (e *env) ld(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	for i, a := range args {
		if strings.HasSuffix(a, ".cf") && !strings.Contains(a, "/") {
			args[i] = e.path(a)
		}
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = e.environ()
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run ldirectord %v: %v", args, err)
	}
	return o.String(), er.String(), code
}

func (e *env) mustLd(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.ld(args...)
	if code != 0 {
		e.t.Fatalf("ldirectord %v: exit %d\nstdout: %s\nstderr: %s\nlog:\n%s", args, code, out, errOut, e.log())
	}
	return out + errOut
}

func (e *env) log() string {
	b, _ := os.ReadFile(e.path("ld.log"))
	return string(b)
}

// weights reads the file table as "service dest" -> weight, a service
// alone as -1.
func (e *env) weights() (map[string]int, error) {
	vs, err := e.read()
	if err != nil {
		return nil, err
	}
	return kerneltest.Weights(vs), nil
}

func (e *env) waitFor(what string, cond func(map[string]int) bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		w, err := e.weights()
		if err == nil && cond(w) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; table: %v (%v)\nlog:\n%s", what, w, err, e.log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (e *env) waitText(what string, read func() string, cond func(string) bool) string {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := read()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; have:\n%s\nlog:\n%s", what, s, e.log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (e *env) file(name string) func() string {
	return func() string { b, _ := os.ReadFile(e.path(name)); return string(b) }
}

// The questions asked of the table, shared with the other daemon tests.
var (
	has   = kerneltest.Has
	lacks = kerneltest.Lacks
	all   = kerneltest.All
)

// backend is an HTTP real server on a loopback address whose health the
// test switches: healthy, it answers "alive"; sick, "sick"; down, it does
// not listen at all.
type backend struct {
	t        *testing.T
	addr     string // host:port
	healthy  atomic.Bool
	requests atomic.Int64
	conns    atomic.Int64
	mu       sync.Mutex
	srv      *http.Server
	wg       sync.WaitGroup
}

func newBackend(t *testing.T, ip string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	return backendOn(t, ln)
}

// backendOn is a healthy backend serving ln.
func backendOn(t *testing.T, ln net.Listener) *backend {
	b := &backend{t: t, addr: ln.Addr().String()}
	b.healthy.Store(true)
	b.serve(ln)
	t.Cleanup(b.down)
	return b
}

func (b *backend) serve(ln net.Listener) {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.requests.Add(1)
			if b.healthy.Load() {
				fmt.Fprint(w, "alive")
			} else {
				fmt.Fprint(w, "sick")
			}
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				b.conns.Add(1)
			}
		},
	}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	b.wg.Add(1)
	go func() { defer b.wg.Done(); _ = srv.Serve(ln) }()
}

// down stops listening.
func (b *backend) down() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		srv.Close()
		b.wg.Wait()
	}
}

// up listens again on the same address.
func (b *backend) up() {
	b.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			b.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("listen again on %s: %v", b.addr, err)
}

func (b *backend) port() string { _, p, _ := net.SplitHostPort(b.addr); return p }

// httpVirtual is a virtual block checking its reals with an HTTP negotiate
// check for "alive".
func httpVirtual(vip string, extra string, reals ...string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "virtual = %s\n", vip)
	for _, r := range reals {
		fmt.Fprintf(&s, "\treal = %s\n", r)
	}
	s.WriteString("\tprotocol = tcp\n\tscheduler = wrr\n\tchecktype = negotiate\n\tservice = http\n\trequest = \"/\"\n\treceive = \"alive\"\n")
	for _, l := range strings.Split(strings.TrimSpace(extra), "\n") {
		if l != "" {
			s.WriteString("\t" + strings.TrimSpace(l) + "\n")
		}
	}
	return s.String()
}

const fastGlobals = "checkinterval = 1\nchecktimeout = 2\n"

// restartWatched restarts the daemon of l.cf and reads the table every
// few milliseconds while the new daemon takes over (3 s: several of its
// checks). It returns the table before, and the first table seen that
// differed from it ("" when none did): a restart that changes nothing in
// the configuration must change nothing in the table.
func (e *env) restartWatched() (before, changed string) {
	e.t.Helper()
	before = canonical(e.list())
	stop := watchTable(before, 5*time.Millisecond, func() (string, bool) { return canonical(e.list()), true })
	e.mustLd("l.cf", "restart")
	time.Sleep(3 * time.Second)
	changed, _ = stop()
	return before, changed
}

// watchTable reads a table with read every few milliseconds (every), in
// the background, until stop is called; a read that fails (ok false) is
// skipped. stop says the first table read that differed from before (""
// when none did) and how many were read.
func watchTable(before string, every time.Duration, read func() (table string, ok bool)) (stop func() (changed string, reads int)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var changed string
	var reads int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(every):
			}
			now, ok := read()
			if !ok {
				continue
			}
			reads++
			if now != before && changed == "" {
				changed = now
			}
		}
	}()
	return func() (string, int) {
		close(done)
		wg.Wait()
		return changed, reads
	}
}
