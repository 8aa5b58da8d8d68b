package demo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/vm"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.Trim(string(b), "\n"))
	return len(b), nil
}

// TestDemo runs the whole demo in the VM with our daemon: every expected
// table must appear in order and every request through the virtual service
// must be answered by a server of the table of the moment.
func TestDemo(t *testing.T) {
	if err := vm.CheckHost(); err != nil {
		t.Fatal(err)
	}
	daemon, err := BuildDaemon(context.Background(), "../..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Daemon: daemon, Out: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the demo's VM run took %s", rep.Duration.Round(100*time.Millisecond))
	answers := map[string]bool{}
	for _, e := range rep.Events {
		if e.Kind == "answer" {
			answers[e.Text] = true
		}
	}
	for _, want := range []string{"OK from rs1", "OK from rs2", "OK from rs3", "sorry, every real server is down"} {
		if !answers[want] {
			t.Errorf("no request through the virtual service was answered %q; answers: %v", want, answers)
		}
	}
}

// TestDemoFailsWithIdleDaemon: a daemon that never writes the table must
// make the demo fail at its first step, naming the table it expected.
func TestDemoFailsWithIdleDaemon(t *testing.T) {
	if err := vm.CheckHost(); err != nil {
		t.Fatal(err)
	}
	idle := filepath.Join(t.TempDir(), "idle")
	cmd := exec.Command(goTool(), "build", "-o", idle, "./testdata/idle")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/idle: %v\n%s", err, out)
	}
	_, err := Run(context.Background(), Options{Daemon: idle, SkipQuiescent: true, StepLimit: 5 * time.Second})
	if err == nil {
		t.Fatal("the demo passed with a daemon that never touches the table")
	}
	t.Logf("the demo failed as it should: %v", err)
	if !strings.Contains(err.Error(), "expected [192.0.2.80:80 10.2.1.2:80=1 10.2.2.2:80=1 10.2.3.2:80=1]") {
		t.Errorf("the error does not name the table of the first step: %v", err)
	}
}
