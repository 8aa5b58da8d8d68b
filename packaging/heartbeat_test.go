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

// weOwnResource is how heartbeat 3.0.6's ResourceManager (Debian's heartbeat
// package, /usr/share/heartbeat/ResourceManager, we_own_resource) reads the
// status of a resource script: the standard output only, by its words.
const weOwnResource = `case ` + "`" + `"$0" "$1" status 2>/dev/null` + "`" + ` in
    *[Nn][Oo][Tt]\ *[Rr]unning*)	exit 3;;
    *[Rr]unning*|*OK*)			exit 0;;
    *)					exit 3;;
esac`

// owned runs ResourceManager's status reading on the script for conf.
func owned(t *testing.T, env []string, conf string) bool {
	t.Helper()
	_, rc := run(t, env, "sh", "-c", weOwnResource, script(t), conf)
	return rc == 0
}

// The life of a resource "ldirectord::conf" as heartbeat drives it: acquire
// (status, then start when not owned), release (stop, which must succeed
// again when already stopped).
func TestHeartbeatResourceManagerCalls(t *testing.T) {
	bin := ldirectord(t)
	in := newInstance(t, "heartbeat.cf")
	env := append([]string{"LDIRECTORD=" + bin}, in.env...)

	if owned(t, env, in.conf) {
		t.Fatalf("before start, ResourceManager would think it owns the resource")
	}
	if out, rc := run(t, env, script(t), in.conf, "start"); rc != 0 {
		t.Fatalf("ldirectord %s start: exit %d, want 0\n%s", in.conf, rc, out)
	}
	if !owned(t, env, in.conf) {
		out, rc := run(t, env, script(t), in.conf, "status")
		t.Fatalf("after start, ResourceManager does not see the resource as running: status exit %d, output %q", rc, out)
	}
	waitFor(t, "the real server in the table", func() bool { return len(in.destinations(t)) == 1 })
	for i := 0; i < 2; i++ {
		if out, rc := run(t, env, script(t), in.conf, "stop"); rc != 0 {
			t.Fatalf("stop #%d: exit %d, want 0 (heartbeat requires stop to succeed when stopped)\n%s", i+1, rc, out)
		}
		if owned(t, env, in.conf) {
			t.Fatalf("after stop #%d, ResourceManager still sees the resource as running", i+1)
		}
	}
	out, rc := run(t, env, script(t), in.conf, "status")
	if rc != 3 || !strings.Contains(out, "stopped") {
		t.Errorf("status after stop: exit %d and %q, want 3 and \"stopped\"", rc, out)
	}
}
