package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var agentCopy struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// agent is our OCF resource agent, by absolute path as ocf-tester wants it:
// a copy in a directory of its own that every user may enter, for
// ocf-tester runs it as nobody, and the checkout may sit where nobody
// cannot go (root's home is 0700 on Debian).
func agent(t *testing.T) string {
	t.Helper()
	agentCopy.once.Do(func() {
		src, err := os.ReadFile(filepath.Join("ocf", "ldirectord"))
		if err != nil {
			agentCopy.err = err
			return
		}
		if agentCopy.dir, err = os.MkdirTemp("", "ldirectord-ocf-"); err != nil {
			agentCopy.err = err
			return
		}
		// MkdirTemp makes it 0700, and the umask may narrow WriteFile.
		p := filepath.Join(agentCopy.dir, "ldirectord")
		for _, err := range []error{
			os.Chmod(agentCopy.dir, 0o755),
			os.WriteFile(p, src, 0o755),
			os.Chmod(p, 0o755),
		} {
			if err != nil {
				agentCopy.err = err
				return
			}
		}
		agentCopy.path = p
	})
	if agentCopy.err != nil {
		t.Fatalf("copying the OCF agent where nobody can run it: %v", agentCopy.err)
	}
	return agentCopy.path
}

// ocfRun runs one action of an agent with the given OCF_RESKEY_ parameters.
func ocfRun(t *testing.T, agentPath, action string, env ...string) (string, int) {
	t.Helper()
	env = append([]string{"OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=test"}, env...)
	return run(t, env, agentPath, action)
}

func TestOCFMetaDataIsValid(t *testing.T) {
	xmllint := need(t, "xmllint", "libxml2-utils")
	const dtd = "/usr/share/resource-agents/ra-api-1.dtd"
	if _, err := os.Stat(dtd); err != nil {
		t.Fatalf("%s is missing: install the Debian package resource-agents (make deps)", dtd)
	}
	out, rc := ocfRun(t, agent(t), "meta-data")
	if rc != 0 {
		t.Fatalf("meta-data: exit %d, want 0\n%s", rc, out)
	}
	cmd := exec.Command(xmllint, "--noout", "--valid", "-")
	cmd.Dir = filepath.Dir(dtd)
	cmd.Stdin = strings.NewReader(out)
	if lint, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("meta-data does not conform to ra-api-1.dtd: %v\n%s", err, lint)
	}
	for _, p := range []string{`<parameter name="configfile"`, `<parameter name="binary"`} {
		if !strings.Contains(out, p) {
			t.Errorf("meta-data lacks %s", p)
		}
	}
	for _, a := range []string{"start", "stop", "monitor", "validate-all", "meta-data"} {
		if !strings.Contains(out, `<action name="`+a+`"`) {
			t.Errorf("meta-data lacks the action %s", a)
		}
	}
}

// The exit codes that do not need a daemon: OCF_ERR_INSTALLED (5) for a
// missing program, OCF_ERR_CONFIGURED (6) for a configuration that cannot be
// right, OCF_NOT_RUNNING (7) for a probe where nothing is installed,
// OCF_ERR_UNIMPLEMENTED (3) for an unknown action.
func TestOCFExitCodesWithoutDaemon(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "ldirectord.cf")
	if err := os.WriteFile(conf, []byte("checktimeout = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-ldirectord")
	cases := []struct {
		name   string
		action string
		env    []string
		want   int
	}{
		{"missing binary", "validate-all", []string{"OCF_RESKEY_binary=" + missing, "OCF_RESKEY_configfile=" + conf}, 5},
		{"missing binary, start", "start", []string{"OCF_RESKEY_binary=" + missing, "OCF_RESKEY_configfile=" + conf}, 5},
		{"missing configuration", "validate-all", []string{"OCF_RESKEY_binary=/bin/true", "OCF_RESKEY_configfile=" + filepath.Join(dir, "absent.cf")}, 5},
		{"relative configuration", "validate-all", []string{"OCF_RESKEY_binary=/bin/true", "OCF_RESKEY_configfile=ldirectord.cf"}, 6},
		{"configuration refused by --check", "validate-all", []string{"OCF_RESKEY_binary=/bin/false", "OCF_RESKEY_configfile=" + conf}, 6},
		{"probe, nothing installed", "monitor", []string{"OCF_RESKEY_binary=" + missing, "OCF_RESKEY_configfile=" + conf, "OCF_RESKEY_CRM_meta_interval=0"}, 7},
		{"recurring monitor, binary gone", "monitor", []string{"OCF_RESKEY_binary=" + missing, "OCF_RESKEY_configfile=" + conf, "OCF_RESKEY_CRM_meta_interval=10000"}, 5},
		{"stop, nothing installed", "stop", []string{"OCF_RESKEY_binary=" + missing, "OCF_RESKEY_configfile=" + conf, "OCF_RESKEY_CRM_meta_interval=0"}, 0},
		{"unknown action", "frobnicate", nil, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, rc := ocfRun(t, agent(t), c.action, c.env...)
			if rc != c.want {
				t.Errorf("%s: exit %d, want %d\n%s", c.action, rc, c.want, out)
			}
		})
	}
}

// A stop with the program gone signals the pid of the pid file only if
// our daemon holds that file's lock: a process that merely has the pid
// now, whatever its command line says, is left alone.
func TestOCFStopLeavesAnUnrelatedProcess(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "ldirectord.cf")
	if err := os.WriteFile(conf, []byte("checktimeout = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	impostor := exec.Command("sleep", "30")
	impostor.Args[0] = "ldirectord" // its command line says ldirectord
	if err := impostor.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { impostor.Wait(); close(exited) }()
	t.Cleanup(func() { impostor.Process.Kill(); <-exited })
	pidFile := filepath.Join(dir, "ldirectord.ldirectord.cf.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(impostor.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, rc := ocfRun(t, agent(t), "stop", "OCF_RESKEY_binary="+filepath.Join(dir, "no-such-ldirectord"),
		"OCF_RESKEY_configfile="+conf, "LDIRECTORD_PIDDIR="+dir)
	if rc != 0 {
		t.Errorf("stop: exit %d, want 0\n%s", rc, out)
	}
	select {
	case <-exited:
		t.Errorf("stop signalled pid %d, a process that is not our daemon\n%s", impostor.Process.Pid, out)
	case <-time.After(500 * time.Millisecond):
	}
}
