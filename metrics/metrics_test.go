package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/checks"
	"github.com/ldirectord-go/ldirectord/plan"
)

// TestRealServerSeries: each real server has one state series, with its
// state as a label, its weights where it has them and its failures; a
// fallback too, once; nothing is shown before the daemon is known.
func TestRealServerSeries(t *testing.T) {
	m := New("test")
	if got := series(scrape(t, m), "ldirectord_real_server_state"); len(got) != 0 {
		t.Fatalf("series before Inspect is set: %q", got)
	}
	ins := inspection(1, 3)
	// A fallback that is also a real is shown once, as the real.
	ins.Instances[0].Virtuals = append(ins.Instances[0].Virtuals, plan.VirtualInspection{
		ID:       "tcp:10.0.0.9:80",
		Reals:    []plan.RealInspection{{Real: "10.9.0.1:80", State: plan.StateMaintenance}},
		Fallback: &plan.RealInspection{Real: "10.9.0.1:80", State: plan.StateFallback, Wanted: weight(1), InTable: weight(1)},
	})
	m.Inspect(func() (*plan.Inspection, error) { return ins, nil })
	text := scrape(t, m)
	l := func(real, virtual string) string {
		return `config="big.cf",real="` + real + `",` + "%s" + `virtual="` + virtual + `"`
	}
	v0 := "tcp:10.0.0.1:80"
	want := map[string][]string{
		"ldirectord_real_server_state": {
			"{" + sprintf(l("10.100.0.2:80", v0), `state="up",`) + "} 1",
			"{" + sprintf(l("10.100.0.3:80", v0), `state="down",`) + "} 1",
			"{" + sprintf(l("10.100.0.4:80", v0), `state="quiescent",`) + "} 1",
			"{" + sprintf(l("127.0.0.1:80", v0), `state="unknown",`) + "} 1",
			"{" + sprintf(l("10.9.0.1:80", "tcp:10.0.0.9:80"), `state="maintenance",`) + "} 1",
		},
		"ldirectord_real_server_weight": {
			"{" + sprintf(l("10.100.0.2:80", v0), "") + "} 1",
			"{" + sprintf(l("10.100.0.4:80", v0), "") + "} 0",
		},
		"ldirectord_real_server_wanted_weight": {
			"{" + sprintf(l("10.100.0.2:80", v0), "") + "} 1",
			"{" + sprintf(l("10.100.0.4:80", v0), "") + "} 0",
		},
		"ldirectord_real_server_consecutive_failures": {
			"{" + sprintf(l("10.100.0.2:80", v0), "") + "} 0",
			"{" + sprintf(l("10.100.0.3:80", v0), "") + "} 4",
			"{" + sprintf(l("10.100.0.4:80", v0), "") + "} 2",
			"{" + sprintf(l("127.0.0.1:80", v0), "") + "} 0",
			"{" + sprintf(l("10.9.0.1:80", "tcp:10.0.0.9:80"), "") + "} 0",
		},
	}
	for name, lines := range want {
		got := series(text, name)
		for i := range lines {
			lines[i] = name + lines[i]
		}
		slices.Sort(got)
		slices.Sort(lines)
		if !slices.Equal(got, lines) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, lines)
		}
	}

	// A daemon that cannot answer costs the per-real series, not the
	// scrape.
	m.Inspect(func() (*plan.Inspection, error) { return nil, errors.New("no answer in time") })
	text = scrape(t, m)
	if got := series(text, "ldirectord_real_server_state"); len(got) != 0 {
		t.Errorf("series from a failed inspection: %q", got)
	}
	if len(series(text, "ldirectord_build_info")) != 1 || len(series(text, "go_goroutines")) != 1 {
		t.Errorf("a failed inspection took the rest of the scrape with it:\n%s", text)
	}
	// What could be inspected is shown.
	m.Inspect(func() (*plan.Inspection, error) { return inspection(1, 3), errors.New("read the table: netlink") })
	if got := series(scrape(t, m), "ldirectord_real_server_state"); len(got) != 4 {
		t.Errorf("series of a partial inspection: %q, want the 3 reals and the fallback", got)
	}
}

func sprintf(format, arg string) string { return strings.Replace(format, "%s", arg, 1) }

// TestObserverCounts: checks, table writes, drift and the gate as the
// daemon reports them.
func TestObserverCounts(t *testing.T) {
	m := New("test")
	v := plan.VirtualInspection{ID: "tcp:10.0.0.1:80"}.ID
	m.CheckDone(v, "negotiate http", checks.Result{Up: true, Reason: "HTTP 200 OK", Duration: 3 * time.Millisecond})
	m.CheckDone(v, "negotiate http", checks.Result{Up: true, Reason: "HTTP 200 OK", Duration: 4 * time.Millisecond}) // its series kept
	m.CheckDone(v, "negotiate http", checks.Result{Up: false, Reason: "timeout after 5s waiting for HTTP response", Duration: 5 * time.Second})
	m.CheckDone(v, "negotiate http", checks.Result{Up: false, Reason: "connect: connection refused", Duration: time.Millisecond})
	m.CheckDone(v, "connect", checks.Result{Up: false, Reason: "connect: connection refused", Duration: time.Millisecond})
	m.TableWritten(0, time.Millisecond, nil) // nothing to do: not a write
	m.TableWritten(3, 2*time.Millisecond, nil)
	m.TableWritten(2, time.Millisecond, errors.New("netlink: no such file or directory"))
	m.DriftRepaired(2)
	m.GateChanged(8, 11)
	m.Reloaded(nil)
	m.Reloaded(errors.New("bad file"))
	m.Reloaded(errors.New("bad file"))
	text := scrape(t, m)
	for _, want := range []string{
		`ldirectord_checks_total{check="negotiate http",reason="none",result="up",virtual="tcp:10.0.0.1:80"} 2`,
		`ldirectord_checks_total{check="negotiate http",reason="timeout",result="down",virtual="tcp:10.0.0.1:80"} 1`,
		`ldirectord_checks_total{check="negotiate http",reason="refused",result="down",virtual="tcp:10.0.0.1:80"} 1`,
		`ldirectord_checks_total{check="connect",reason="refused",result="down",virtual="tcp:10.0.0.1:80"} 1`,
		`ldirectord_check_duration_seconds_count{check="negotiate http",virtual="tcp:10.0.0.1:80"} 4`,
		`ldirectord_check_duration_seconds_bucket{check="negotiate http",virtual="tcp:10.0.0.1:80",le="0.005"} 3`,
		`ldirectord_check_duration_seconds_bucket{check="negotiate http",virtual="tcp:10.0.0.1:80",le="2.5"} 3`,
		`ldirectord_check_duration_seconds_bucket{check="negotiate http",virtual="tcp:10.0.0.1:80",le="5"} 4`,
		`ldirectord_table_writes_total 2`,
		`ldirectord_table_changes_total 3`,
		`ldirectord_table_write_errors_total 1`,
		`ldirectord_table_write_duration_seconds_count 2`,
		`ldirectord_table_drift_repairs_total 1`,
		`ldirectord_table_drift_changes_total 2`,
		`ldirectord_check_gate_limit 8`,
		`ldirectord_checks_in_flight 11`,
		`ldirectord_config_reloads_total{result="success"} 1`,
		`ldirectord_config_reloads_total{result="failure"} 2`,
		`ldirectord_build_info{version="test"} 1`,
	} {
		if !strings.Contains(text, "\n"+want+"\n") {
			t.Errorf("no line %s", want)
		}
	}
}

// TestConfigSeries: a good load records the file's hash and time, a bad
// one changes nothing, and only the files of running instances are shown
// once the daemon is known.
func TestConfigSeries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web.cf")
	good := "virtual = 10.0.0.1:80\n\treal = 10.0.0.2:80 gate\n"
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(good)
	m := New("test")
	if _, err := m.Load(path); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(good))
	info := func() []string { return series(scrape(t, m), "ldirectord_config_info") }
	got := info()
	if len(got) != 1 || !strings.Contains(got[0], `config="web.cf",file="`+path+`",sha256="`+hex.EncodeToString(sum[:])+`"} 1`) {
		t.Fatalf("config_info after a load: %q", got)
	}
	first := got[0]
	write("virtual = 10.0.0.1:80\n\treal = nonsense\n")
	if _, err := m.Load(path); err == nil {
		t.Fatal("a bad file loaded")
	}
	if got := info(); len(got) != 1 || got[0] != first {
		t.Errorf("a bad load changed config_info: %q, was %q", got, first)
	}
	write(good + "\treal = 10.0.0.3:80 gate\n")
	if _, err := m.Load(path); err != nil {
		t.Fatal(err)
	}
	if got := info(); len(got) != 1 || got[0] == first {
		t.Errorf("a changed file kept its hash: %q", got)
	}
	if _, err := m.Load(filepath.Join(dir, "missing.cf")); err == nil || !strings.Contains(err.Error(), "cannot read the configuration") {
		t.Errorf("missing file: %v", err)
	}
	m.Inspect(func() (*plan.Inspection, error) { return &plan.Inspection{}, nil })
	if got := info(); len(got) != 0 {
		t.Errorf("config_info of a file no instance runs: %q", got)
	}
	m.Inspect(func() (*plan.Inspection, error) {
		return &plan.Inspection{Instances: []plan.InstanceInspection{{File: path, Name: "web.cf"}}}, nil
	})
	if got := info(); len(got) != 1 {
		t.Errorf("config_info of the running file: %q", got)
	}
	text := scrape(t, m)
	if len(series(text, "ldirectord_config_load_timestamp_seconds")) != 1 || len(series(text, "ldirectord_config_load_duration_seconds")) != 1 {
		t.Errorf("no load time:\n%s", text)
	}
}
