package packaging

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unitKeys reads the [Service] settings of a systemd unit file.
func unitKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = l
		default:
			k, v, _ := strings.Cut(l, "=")
			keys[section+k] = v
		}
	}
	return keys
}

func TestUnitsPassSystemdVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	for _, u := range []string{"ldirectord.service", "ldirectord-notify.service"} {
		out := mustRun(t, nil, analyze, "verify", filepath.Join("systemd", u))
		if strings.Contains(out, u) {
			t.Errorf("systemd-analyze verify warns about %s:\n%s", u, out)
		}
	}
}

// The forking unit starts, stops and reloads the daemon exactly as Debian's
// ldirectord.service does, and follows the same pid file.
func TestForkingUnitMatchesDebian(t *testing.T) {
	const debian = "/lib/systemd/system/ldirectord.service"
	if _, err := os.Stat(debian); err != nil {
		t.Fatalf("Debian's unit %s is missing (%v): install the Debian package ldirectord (make deps)", debian, err)
	}
	ours := unitKeys(t, filepath.Join("systemd", "ldirectord.service"))
	theirs := unitKeys(t, debian)
	for _, k := range []string{"[Service]Type", "[Service]PIDFile", "[Service]ExecStart", "[Service]ExecStop", "[Service]ExecReload", "[Install]WantedBy"} {
		if ours[k] != theirs[k] {
			t.Errorf("%s: ours %q, Debian's %q", k, ours[k], theirs[k])
		}
	}
	if ours["[Service]Type"] != "forking" || ours["[Service]PIDFile"] != "/run/ldirectord.ldirectord.pid" {
		t.Errorf("ldirectord.service must be Type=forking with PIDFile=/run/ldirectord.ldirectord.pid, got %q and %q",
			ours["[Service]Type"], ours["[Service]PIDFile"])
	}
}

func TestNotifyUnitIsTypeNotify(t *testing.T) {
	keys := unitKeys(t, filepath.Join("systemd", "ldirectord-notify.service"))
	want := map[string]string{
		"[Service]Type":         "notify",
		"[Service]NotifyAccess": "all",
		"[Service]ExecStart":    "/usr/sbin/ldirectord start",
		"[Unit]Conflicts":       "ldirectord.service",
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("ldirectord-notify.service %s = %q, want %q", k, keys[k], v)
		}
	}
}
