package packaging

import (
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
