package packaging

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debianAgent is the ocf:heartbeat:ldirectord agent of resource-agents,
// which must work unchanged with our binary in place of the Perl one.
const debianAgent = "/usr/lib/ocf/resource.d/heartbeat/ldirectord"

// ocfTester runs resource-agents' ocf-tester on an agent with the given
// parameters and the instance's environment (its table file and pid
// directory), and fails the test unless every check passes.
func ocfTester(t *testing.T, in *instance, agentPath string, params ...string) {
	t.Helper()
	tester := need(t, "ocf-tester", "resource-agents")
	need(t, "xmllint", "libxml2-utils")
	args := []string{"-v", "-n", "ldirectord-test"}
	for _, p := range params {
		args = append(args, "-o", p)
	}
	args = append(args, agentPath)
	out, rc := run(t, append(in.env, "OCF_ROOT=/usr/lib/ocf"), tester, args...)
	if rc != 0 || !strings.Contains(out, "passed all tests") {
		t.Fatalf("ocf-tester %s: exit %d\n%s", agentPath, rc, out)
	}
}

func TestOCFTesterPassesOurAgent(t *testing.T) {
	bin := ldirectord(t)
	in := newInstance(t, "ocf-ours.cf")
	ocfTester(t, in, agent(t), "configfile="+in.conf, "binary="+bin)
}

func TestOCFTesterPassesDebianAgentWithOurBinary(t *testing.T) {
	bin := ldirectord(t)
	in := newInstance(t, "ocf-debian.cf")
	ocfTester(t, in, debianAgent, "configfile="+in.conf, "ldirectord="+bin)
}

// Started by our agent, the daemon puts the live real server into the
// table; stopped by it, with cleanstop = yes, it takes its service out.
func TestOCFAgentStartFillsTableStopEmptiesIt(t *testing.T) {
	bin := ldirectord(t)
	in := newInstance(t, "ocf-table.cf")
	env := []string{"OCF_RESKEY_configfile=" + in.conf, "OCF_RESKEY_binary=" + bin}
	ocf := func(action string, want int) {
		t.Helper()
		out, rc := ocfRun(t, agent(t), action, append(env, in.env...)...)
		if rc != want {
			t.Fatalf("%s: exit %d, want %d\n%s", action, rc, want, out)
		}
	}
	ocf("validate-all", 0)
	ocf("monitor", 7)
	ocf("start", 0)
	ocf("monitor", 0)
	waitFor(t, "the real server in the table", func() bool { return len(in.destinations(t)) == 1 })
	ocf("stop", 0)
	ocf("monitor", 7)
	waitFor(t, "an empty table after stop", func() bool { return len(in.destinations(t)) == 0 })
}

// closedEnv marks the inner run of TestOCFTesterFromAClosedCheckout.
const closedEnv = "LDIRECTORD_TEST_CLOSED_CHECKOUT"

// The OCF tests pass wherever the checkout is, also where nobody, as whom
// ocf-tester runs the agent, cannot enter: they run here again from a copy
// of the checkout in a 0700 directory.
func TestOCFTesterFromAClosedCheckout(t *testing.T) {
	if os.Getenv(closedEnv) != "" {
		t.Skip("already in the closed checkout")
	}
	need(t, "ocf-tester", "resource-agents")
	closed := filepath.Join(t.TempDir(), "closed")
	copyTree(t, root(t), closed)
	if err := os.Chmod(filepath.Dir(closed), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestOCF", "./packaging/")
	cmd.Dir = closed
	cmd.Env = append(os.Environ(), closedEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the OCF tests from a checkout in a 0700 directory: %v\n%s", err, out)
	}
}

// copyTree copies the checkout's files, without .git and bin, from src to
// dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && (rel == ".git" || rel == "bin") {
			return filepath.SkipDir
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm())
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, info.Mode().Perm())
		}
		return nil // no symlinks or devices in a checkout worth following
	})
	if err != nil {
		t.Fatalf("copying the checkout: %v", err)
	}
}
