package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args []string
		want invocation
		err  bool
	}{
		{[]string{"start"}, invocation{command: "start"}, false},
		{[]string{"-d", "my.cf", "reload"}, invocation{debug: true, cfgArg: "my.cf", command: "reload"}, false},
		{[]string{"--debug", "--", "-odd.cf", "status"}, invocation{debug: true, cfgArg: "-odd.cf", command: "status"}, false},
		{[]string{"--check"}, invocation{check: true, command: "check"}, false},
		{[]string{"-t", "x.cf"}, invocation{check: true, cfgArg: "x.cf", command: "check"}, false},
		{[]string{"x.cf", "probe"}, invocation{cfgArg: "x.cf", command: "probe"}, false},
		{[]string{"-v"}, invocation{command: "version"}, false},
		{[]string{"--help"}, invocation{command: "help"}, false},
		{[]string{"x.cf", "bounce"}, invocation{}, true},
		{[]string{}, invocation{}, true},
		{[]string{"a", "b", "start"}, invocation{}, true},
		{[]string{"-x", "start"}, invocation{}, true},
	}
	for _, c := range cases {
		got, err := parseArgs(c.args)
		if c.err {
			if !errors.Is(err, errUsage) {
				t.Errorf("parseArgs(%q) error = %v, want a usage error", c.args, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseArgs(%q) = %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
}

// isLdirectord reports whether the process pid still runs.
func isLdirectord(pid int) bool { return !processGone(pid) }

func TestPidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ldirectord.x.cf.pid")
	l, err := claimPidFile(path)
	if err != nil {
		t.Fatalf("claimPidFile: %v", err)
	}
	pid, alive, exists := readPid(path)
	if !exists || !alive || pid != os.Getpid() {
		t.Fatalf("pid file holds %d (exists %v, alive %v), want %d held", pid, exists, alive, os.Getpid())
	}
	var running *runningError
	if _, err := claimPidFile(path); !errors.As(err, &running) || running.pid != os.Getpid() {
		t.Errorf("second claim of a held pid file: %v, want already running with pid %d", err, os.Getpid())
	}
	l.release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pid file still there after release: %v", err)
	}
	// A pid file that names a live process, this one, but that nobody
	// holds, is stale.
	if err := os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, alive, exists := readPid(path); alive || !exists || pid != os.Getpid() {
		t.Fatalf("unheld pid file: pid %d alive %v exists %v, want stale", pid, alive, exists)
	}
	l, err = claimPidFile(path)
	if err != nil {
		t.Fatalf("stale pid file not taken over: %v", err)
	}
	l.release()
}

func TestConfigNameAndPidPath(t *testing.T) {
	t.Setenv(pidDirEnv, "/x")
	if got := pidFilePath(""); got != "/x/ldirectord.ldirectord.pid" {
		t.Errorf("default pid file = %s", got)
	}
	if got := pidFilePath("/etc/ha.d/web.cf"); got != "/x/ldirectord.web.cf.pid" {
		t.Errorf("pid file of web.cf = %s", got)
	}
}
