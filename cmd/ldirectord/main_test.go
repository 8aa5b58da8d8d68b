package main

import (
	"errors"
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

func TestPidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ldirectord.x.cf.pid")
	if err := createPidFile(path); err != nil {
		t.Fatalf("createPidFile: %v", err)
	}
	pid, _, exists := readPid(path)
	if !exists || pid != os.Getpid() {
		t.Fatalf("pid file holds %d (exists %v), want %d", pid, exists, os.Getpid())
	}
	// The test binary's name holds no "ldirectord" unless the package
	// directory does: it does (cmd/ldirectord builds ldirectord.test).
	if _, alive, _ := readPid(path); alive {
		if err := createPidFile(path); err == nil {
			t.Error("second createPidFile over a live daemon succeeded")
		}
	}
	if err := os.WriteFile(path, []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, alive, _ := readPid(path); alive {
		t.Fatal("a pid that does not exist counts as alive")
	}
	if err := createPidFile(path); err != nil {
		t.Fatalf("stale pid file not replaced: %v", err)
	}
	removePidFile(path)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pid file still there after removePidFile: %v", err)
	}
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
