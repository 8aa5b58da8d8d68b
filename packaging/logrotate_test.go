package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The shipped logrotate rule, applied to a running daemon's log file:
// without copytruncate and without a signal, the lines written after the
// rotation land in a new file of the same name.
func TestLogrotateRuleAndDaemonKeepLogging(t *testing.T) {
	logrotate := need(t, "logrotate", "logrotate")
	bin := ldirectord(t)
	in := newInstance(t, "logrotate.cf")

	rule, err := os.ReadFile(filepath.Join("logrotate", "ldirectord"))
	if err != nil {
		t.Fatal(err)
	}
	var directives []string
	for _, l := range strings.Split(string(rule), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			directives = append(directives, l)
		}
	}
	if strings.Contains(strings.Join(directives, "\n"), "copytruncate") {
		t.Fatalf("the rule uses copytruncate, which loses lines")
	}
	const shipped = "/var/log/ldirectord.log"
	if !strings.Contains(string(rule), shipped+" {") {
		t.Fatalf("the rule does not rotate %s", shipped)
	}
	conf := filepath.Join(in.dir, "logrotate.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(string(rule), shipped, in.log, 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	mustRun(t, in.env, bin, in.conf, "start")
	in.waitStatus(t, bin, 0)
	waitFor(t, "the daemon's first log lines in "+in.log, func() bool {
		st, err := os.Stat(in.log)
		return err == nil && st.Size() > 0
	})
	before, _ := os.ReadFile(in.log)

	mustRun(t, nil, logrotate, "-f", "-s", filepath.Join(in.dir, "logrotate.state"), conf)
	rotated := in.log + ".1"
	if got, err := os.ReadFile(rotated); err != nil || !strings.HasPrefix(string(got), string(before)) {
		t.Fatalf("logrotate did not move the log to %s (%v)", rotated, err)
	}

	// Make the daemon log: a reload, and the real server going away.
	mustRun(t, in.env, bin, in.conf, "reload")
	in.real.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := os.Stat(in.log); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			grown, _ := os.ReadFile(rotated)
			if len(grown) > len(before) {
				t.Fatalf("after the rotation the daemon kept writing to the renamed %s (%d new bytes) and never to a new %s: it must notice the rename and reopen its log",
					filepath.Base(rotated), len(grown)-len(before), filepath.Base(in.log))
			}
			t.Fatalf("after the rotation the daemon wrote nothing in 30s, neither to %s nor to a new %s", filepath.Base(rotated), filepath.Base(in.log))
		}
		time.Sleep(200 * time.Millisecond)
	}
	after, _ := os.ReadFile(in.log)
	if strings.Contains(string(after), string(before)) {
		t.Errorf("the new log file repeats the old lines: the rotation copied instead of moving")
	}
	if st, _ := os.Stat(rotated); st != nil && st.Size() < int64(len(before)) {
		t.Errorf("the rotated file shrank")
	}
	t.Logf("after rotation the daemon wrote %d bytes to the new %s", len(after), filepath.Base(in.log))
}
