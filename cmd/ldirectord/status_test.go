package main

import (
	"os"
	"strings"
	"testing"
)

// status says running or stopped as Perl does (on the same streams, with
// the same exit codes) and, while running, each real server's state and
// the fallback's, on standard error after the running line.
func TestStatusShowsRealServers(t *testing.T) {
	e := newEnv(t)
	good, bad, fb := newBackend(t, "127.0.0.1").addr, refused(t), newBackend(t, "127.0.0.1").addr
	e.config(fastGlobals + httpVirtual("127.0.0.2:80", "fallback = "+fb+" gate", good+" gate", bad+" gate"))
	e.mustLd("l.cf", "start")

	want := []string{
		"tcp:127.0.0.2:80 real " + good + " up",
		"tcp:127.0.0.2:80 real " + bad + " down",
		"tcp:127.0.0.2:80 fallback " + fb + " up",
	}
	var out, errOut string
	var code int
	e.waitText("every server's state in the status", func() string {
		out, errOut, code = e.ld("l.cf", "status")
		return errOut
	}, func(s string) bool {
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
	if code != 0 || out != "" || !strings.HasPrefix(errOut, "ldirectord for "+e.path("l.cf")+" is running with pid: ") {
		t.Errorf("status while running: exit %d, stdout %q, stderr %q; want 0, nothing, the running line first", code, out, errOut)
	}

	e.mustLd("l.cf", "stop")
	out, errOut, code = e.ld("l.cf", "status")
	if code != 3 || out != "ldirectord is stopped for "+e.path("l.cf")+"\n" || errOut != "" {
		t.Errorf("status after stop: exit %d, stdout %q, stderr %q; want 3 and the stopped line only", code, out, errOut)
	}
	if _, err := os.Stat(statusFilePath(e.pidFile("l.cf"))); !os.IsNotExist(err) {
		t.Errorf("the status file is left after stop (%v)", err)
	}
}
