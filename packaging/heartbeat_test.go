package packaging

import (
	"path/filepath"
	"strings"
	"testing"
)

// script is the heartbeat resource script.
func script(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("heartbeat", "ldirectord"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHeartbeatScriptNamesMissingBinary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ldirectord")
	out, rc := run(t, []string{"LDIRECTORD=" + missing}, script(t), "ldirectord.cf", "status")
	if rc != 5 || !strings.Contains(out, missing) {
		t.Errorf("status with no binary: exit %d (want 5) and %q (want the path named)", rc, out)
	}
	out, rc = run(t, []string{"LDIRECTORD=/bin/true"}, script(t), "a", "b", "start")
	if rc != 2 || !strings.Contains(out, "usage") {
		t.Errorf("three arguments: exit %d (want 2) and %q (want the usage)", rc, out)
	}
}
