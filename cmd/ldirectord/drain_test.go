package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ldirectord-go/ldirectord/plan"
)

func (e *env) statusJSON() (statusDoc, int) {
	e.t.Helper()
	out, errOut, code := e.ld("l.cf", "status", "--json")
	var doc statusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		e.t.Fatalf("status --json printed no JSON (%v): %q, stderr %q", err, out, errOut)
	}
	return doc, code
}

func realIn(doc statusDoc, real string) *plan.RealInspection {
	if doc.Inspection == nil {
		return nil
	}
	for _, in := range doc.Instances {
		for _, v := range in.Virtuals {
			for i := range v.Reals {
				if string(v.Reals[i].Real) == real {
					return &v.Reals[i]
				}
			}
		}
	}
	return nil
}

// status --json tells each real's state and weights; drain takes a real
// out (the file table counts no connections, so at once) and keeps it out
// across a restart; undrain brings it back.
func TestStatusJSONAndDrain(t *testing.T) {
	e := newEnv(t)
	a, b := newBackend(t, "127.0.0.1").addr, newBackend(t, "127.0.0.1").addr
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", a+" masq 3", b+" masq 2"))
	if doc, code := e.statusJSON(); code != 3 || doc.Running {
		t.Errorf("status --json before start: exit %d, %+v; want 3 and not running", code, doc)
	}
	e.mustLd("l.cf", "start")
	svc := "ipv4/tcp/10.9.9.9:80 "
	e.waitFor("both in", func(w map[string]int) bool { return w[svc+a] == 3 && w[svc+b] == 2 })

	doc, code := e.statusJSON()
	ra := realIn(doc, a)
	if code != 0 || !doc.Running || doc.Pid == 0 || ra == nil {
		t.Fatalf("status --json: exit %d, %+v", code, doc)
	}
	if ra.State != plan.StateUp || ra.Wanted == nil || *ra.Wanted != 3 || ra.InTable == nil || *ra.InTable != 3 || ra.LastCheck.IsZero() {
		t.Errorf("real %s in status --json: %+v, want up, wanted 3, in the table at 3, checked", a, *ra)
	}

	out := e.mustLd("l.cf", "drain", a, "--deadline", "30")
	if !strings.Contains(out, "drained "+a+" from tcp:10.9.9.9:80") || !strings.Contains(out, "no active connection left") {
		t.Errorf("drain said %q", out)
	}
	e.waitFor("drained out", func(w map[string]int) bool { _, in := w[svc+a]; return !in && w[svc+b] == 2 })
	doc, _ = e.statusJSON()
	if ra = realIn(doc, a); ra == nil || ra.State != plan.StateDrained || ra.Drain == nil || ra.Drain.Deadline.IsZero() {
		t.Errorf("after drain, status --json: %+v, want drained with its deadline", ra)
	}

	e.mustLd("l.cf", "restart")
	e.waitFor("still drained after a restart", func(w map[string]int) bool { _, in := w[svc+a]; return !in && w[svc+b] == 2 })
	if out := e.mustLd("l.cf", "undrain", a); !strings.Contains(out, "undrained "+a) {
		t.Errorf("undrain said %q", out)
	}
	e.waitFor("back after undrain", func(w map[string]int) bool { return w[svc+a] == 3 })
	e.mustLd("l.cf", "stop")
}

// A drain of a real the configuration does not have, or of one that only
// another configuration has, is refused and writes nothing; so is a
// caller that is not root.
func TestDrainRefusals(t *testing.T) {
	e := newEnv(t)
	a := newBackend(t, "127.0.0.1").addr
	other := newBackend(t, "127.0.0.1").addr
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", a+" masq 1"))
	e.write("o.cf", fastGlobals+httpVirtual("10.9.9.8:80", "", other+" masq 1"))
	for _, c := range []struct{ real, want string }{
		{"127.0.0.9:80", "is not a real server of"},
		{other, "is not a real server of"},
		{"nonsense", "is not a real server: want address:port or an address"},
	} {
		_, errOut, code := e.ld("l.cf", "drain", c.real)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("drain %s: exit %d %q, want 1 and %q", c.real, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(e.path("ldirectord.l.cf.drain")); !os.IsNotExist(err) {
		t.Errorf("a refused drain made the drain directory (%v)", err)
	}
	if _, errOut, code := e.ld("l.cf", "drain"); code != 2 || !strings.Contains(errOut, "drain takes a real server") {
		t.Errorf("drain without a real: exit %d %q, want 2", code, errOut)
	}
	if _, errOut, code := e.ld("l.cf", "status", "--deadline", "5"); code != 2 || !strings.Contains(errOut, "--deadline goes with drain") {
		t.Errorf("status --deadline: exit %d %q, want 2", code, errOut)
	}
}

// Not root: drain cannot write the drain directory and status --json
// cannot open the daemon's socket, and both say why.
func TestDrainNeedsRoot(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv (util-linux) to run as nobody")
	}
	// A world-readable place for all nobody must reach, wherever the
	// checkout and the test's temporary directories are.
	dir, err := os.MkdirTemp("", "ldirectord-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	nbin := filepath.Join(dir, "ldirectord")
	if err := os.WriteFile(nbin, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.dir, e.table = dir, filepath.Join(dir, "table.json")
	a := newBackend(t, "127.0.0.1").addr
	e.config(fastGlobals + httpVirtual("10.9.9.9:80", "", a+" masq 1"))
	e.mustLd("l.cf", "start")
	t.Cleanup(func() { e.ld("l.cf", "stop") })
	asNobody := func(args ...string) (string, int) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", nbin}, args...)...)
		cmd.Env = e.environ()
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	if out, code := asNobody(e.path("l.cf"), "drain", a); code != 1 || !strings.Contains(out, "draining needs root") {
		t.Errorf("drain as nobody: exit %d %q, want 1 and that it needs root", code, out)
	}
	if out, _ := asNobody(e.path("l.cf"), "status", "--json"); !strings.Contains(out, "root's only: run this as root") {
		t.Errorf("status --json as nobody: %q, want that the socket is root's", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ldirectord.l.cf.drain")); !os.IsNotExist(err) {
		t.Errorf("nobody's drain left a drain directory (%v)", err)
	}
}
