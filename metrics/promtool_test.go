package metrics

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/plan"
)

// needTool finds a program of Debian's prometheus package (the Makefile's
// deps target installs it). On a developer machine without it the test
// skips and says why; where CI is set it fails, so that it never passes
// by not running.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found (CI is set): install Debian's prometheus package (make deps)", name)
	}
	t.Skipf("%s not found: install Debian's prometheus package (make deps) to run this test", name)
	return ""
}

// TestPromtoolFindsNoLint: promtool check metrics, Prometheus's own linter
// of names, units, suffixes and help, has nothing to say about a scrape
// with every family of ours in it.
func TestPromtoolFindsNoLint(t *testing.T) {
	promtool := needTool(t, "promtool")
	m := New("test")
	m.Inspect(func() (*plan.Inspection, error) { return inspection(3, 4), nil })
	m.CheckDone("tcp:10.0.0.1:80", "negotiate http", checks.Result{Up: true, Reason: "HTTP 200 OK", Duration: time.Millisecond})
	m.CheckDone("tcp:10.0.0.1:80", "negotiate http", checks.Result{Reason: "connect: connection refused", Duration: time.Millisecond})
	m.TableWritten(3, time.Millisecond, nil)
	m.TableWritten(1, time.Millisecond, errors.New("netlink"))
	m.DriftRepaired(1)
	m.GateChanged(4, 4)
	m.Reloaded(nil)
	cf := filepath.Join(t.TempDir(), "web.cf")
	if err := os.WriteFile(cf, []byte("virtual = 10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Load(cf); err != nil {
		t.Fatal(err)
	}
	m.Inspect(func() (*plan.Inspection, error) {
		ins := inspection(3, 4)
		ins.Instances[0].File = cf
		return ins, nil
	})
	text := scrape(t, m)
	for _, family := range []string{"ldirectord_real_server_state", "ldirectord_config_info", "ldirectord_checks_total", "ldirectord_table_drift_repairs_total"} {
		if len(series(text, family)) == 0 {
			t.Fatalf("the scrape has no %s, so promtool would not see it:\n%s", family, text)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewBufferString(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
