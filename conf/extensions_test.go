package conf

import (
	"bytes"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExtensionValues: every accepted spelling of the health extensions and
// what it sets, globally and in a block.
func TestExtensionValues(t *testing.T) {
	cases := []struct {
		line string
		want Settings // only the extension fields are compared
	}{
		{"rise = 1", Settings{}},
		{"rise = 100", Settings{Rise: 100}},
		{`rise = "3"`, Settings{Rise: 3}},
		{"slowstart = 0", Settings{}},
		{"slowstart = 0s", Settings{}},
		{"slowstart = 30", Settings{SlowStart: 30 * time.Second}},
		{"slowstart = 30s", Settings{SlowStart: 30 * time.Second}},
		{"slowstart = 2m", Settings{SlowStart: 2 * time.Minute}},
		{"slowstart = 1m30s", Settings{SlowStart: 90 * time.Second}},
		{"slowstart = 1h", Settings{SlowStart: time.Hour}},
		{"slowstart = 3600", Settings{SlowStart: time.Hour}},
		{"failopen = 50%", Settings{FailOpen: 50, FailOpenHold: 300 * time.Second}},
		{"failopen = 1% 10", Settings{FailOpen: 1, FailOpenHold: 10 * time.Second}},
		{"failopen = 99%\t5m", Settings{FailOpen: 99, FailOpenHold: 5 * time.Minute}},
		{"failopen = off", Settings{}},
		{"failopen = no", Settings{}},
		{"flapdamping = 4/60s", Settings{FlapCount: 4, FlapWindow: time.Minute}},
		{"flapdamping = 4/60", Settings{FlapCount: 4, FlapWindow: time.Minute}},
		{"flapdamping = 1 / 1h", Settings{FlapCount: 1, FlapWindow: time.Hour}},
		{"flapdamping = off", Settings{}},
		{"flapdamping = no", Settings{}},
		{"checkjitter = 0%", Settings{}},
		{"checkjitter = 10%", Settings{CheckJitter: 10}},
		{"checkjitter = 50%", Settings{CheckJitter: 50}},
	}
	for _, tc := range cases {
		want := extensionFields(tc.want)
		global := mustParse(t, tc.line+"\n"+block())
		if g, v := extensionFields(global.Global.Defaults), extensionFields(global.Virtuals[0].Settings); g != want || v != want {
			t.Errorf("%q globally: global %+v, virtual %+v, want %+v", tc.line, g, v, want)
		}
		checkRoundTrip(t, global)
		local := mustParse(t, block(tc.line))
		if g, v := extensionFields(local.Global.Defaults), extensionFields(local.Virtuals[0].Settings); g != (extFields{}) || v != want {
			t.Errorf("%q in a block: global %+v, virtual %+v, want none and %+v", tc.line, g, v, want)
		}
		checkRoundTrip(t, local)
	}
}

// extFields are the fields of the health extensions alone.
type extFields struct {
	Rise, FailOpen, FlapCount, CheckJitter int
	SlowStart, FailOpenHold, FlapWindow    time.Duration
}

func extensionFields(s Settings) extFields {
	return extFields{s.Rise, s.FailOpen, s.FlapCount, s.CheckJitter, s.SlowStart, s.FailOpenHold, s.FlapWindow}
}

// TestExtensionsInherit: a block overrides a global extension, turns it
// off, or keeps it, field by field as with the other settings; failopen and
// flapdamping go whole, with their second half.
func TestExtensionsInherit(t *testing.T) {
	cfg := mustParse(t, "rise = 3\nslowstart = 30s\nfailopen = 50% 60\nflapdamping = 4/60s\ncheckjitter = 10%\nsharedchecks = yes\n"+
		block()+
		"virtual = 10.0.0.1:81\n\treal = 10.0.0.2:81 gate\n\trise = 2\n\tslowstart = 0\n\tfailopen = 20%\n\tflapdamping = off\n\tcheckjitter = 0%\n"+
		"virtual = 10.0.0.1:82\n\treal = 10.0.0.2:82 gate\n\tfailopen = off\n\tflapdamping = 2/30\n")
	global := extFields{Rise: 3, SlowStart: 30 * time.Second, FailOpen: 50, FailOpenHold: time.Minute, FlapCount: 4, FlapWindow: time.Minute, CheckJitter: 10}
	want := []extFields{
		global,
		{Rise: 2, FailOpen: 20, FailOpenHold: 300 * time.Second},
		{Rise: 3, SlowStart: 30 * time.Second, FlapCount: 2, FlapWindow: 30 * time.Second, CheckJitter: 10},
	}
	if got := extensionFields(cfg.Global.Defaults); got != global {
		t.Errorf("global: got %+v, want %+v", got, global)
	}
	for i, v := range cfg.Virtuals {
		if got := extensionFields(v.Settings); got != want[i] {
			t.Errorf("virtual %s: got %+v, want %+v", v.ID, got, want[i])
		}
	}
	if !cfg.Global.SharedChecks {
		t.Error("sharedchecks = yes did not set Global.SharedChecks")
	}
	checkRoundTrip(t, cfg)
}

// TestExtensionsWarn: each extension warns wherever it stands, even when it
// turns itself off; a file without them warns of nothing.
func TestExtensionsWarn(t *testing.T) {
	lines := []string{"rise = 2", "slowstart = 10", "failopen = off", "flapdamping = 4/60", "checkjitter = 0%"}
	src := strings.Join(append(lines, "sharedchecks = no"), "\n") + "\n" + block(lines...)
	cfg := mustParse(t, src)
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.String())
	}
	var want []string
	names := []string{"rise", "slowstart", "failopen", "flapdamping", "checkjitter", "sharedchecks"}
	for i, n := range names {
		want = append(want, "test.cf:"+itoa(i+1)+": "+n+": is an extension of this ldirectord: the Perl ldirectord does not know it and would refuse this file")
	}
	for i, n := range names[:5] {
		want = append(want, "test.cf:"+itoa(i+9)+": "+n+": is an extension of this ldirectord: the Perl ldirectord does not know it and would refuse this file")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	if cfg := mustParse(t, block()); len(cfg.Warnings) != 0 {
		t.Errorf("a file without extensions warns: %v", cfg.Warnings)
	}
}

// TestExtensionsOffPrintNothing: extensions that are off, globally or in a
// block that agrees with the global value, print nothing, so a Perl
// configuration prints exactly as before.
func TestExtensionsOffPrintNothing(t *testing.T) {
	plain := Format(mustParse(t, block()))
	off := mustParse(t, "rise = 1\nslowstart = 0\nfailopen = off\nflapdamping = no\ncheckjitter = 0%\nsharedchecks = no\n"+
		block("slowstart = 0s", "failopen = no", "flapdamping = off", "checkjitter = 0%"))
	off.File = "test.cf"
	if got := Format(off); bytes.Contains(got, []byte("rise")) || bytes.Contains(got, []byte("slowstart")) || bytes.Contains(got, []byte("failopen")) ||
		bytes.Contains(got, []byte("flapdamping")) || bytes.Contains(got, []byte("checkjitter")) || bytes.Contains(got, []byte("sharedchecks")) {
		t.Errorf("extensions that are off are printed:\n%s", got)
	}
	if got := Format(mustParse(t, "slowstart = 0\nfailopen = off\n"+block())); !bytes.Equal(got, plain) {
		t.Errorf("a file with extensions off prints differently:\n%s", lineDiff(string(plain), string(got)))
	}
}

// TestExtensionsContradict: what cannot work together is refused, or, where
// it is harmless and often temporary, warned about.
func TestExtensionsContradict(t *testing.T) {
	refused := []struct{ src, want string }{
		{"flapdamping = 4/40\n" + block(),
			`test.cf:1: flapdamping: "4/40s" can never act: 5 changes of state (more than 4) span at least 4 check intervals, 40s with checkinterval = 10 and checkjitter = 0%, which the window of 40s cannot hold; give a longer window or fewer changes`},
		{block("checkinterval = 30", "checkjitter = 50%", "flapdamping = 3/45"),
			`test.cf:5: flapdamping: "3/45s" can never act: 4 changes of state (more than 3) span at least 3 check intervals, 45s with checkinterval = 30 and checkjitter = 50%, which the window of 45s cannot hold; give a longer window or fewer changes`},
	}
	for _, tc := range refused {
		if got := errorLines(t, tc.src); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
	// Jitter brings checks closer: 4 changes 7.5s apart fit in 31s.
	mustParse(t, block("checkjitter = 25%", "flapdamping = 4/31"))

	cfg := mustParse(t, "flapdamping = 2/60\n"+block("checktype = off", "rise = 2", "slowstart = 5")+
		"virtual = 10.0.0.1:81\n\treal = 10.0.0.2:81 gate\n\tcheckinterval = 30\n")
	var got []string
	for _, w := range cfg.Warnings {
		if !strings.Contains(w.Msg, "is an extension") {
			got = append(got, w.String())
		}
	}
	want := []string{
		"test.cf:5: rise: has no effect here: checktype = off checks nothing",
		"test.cf:6: slowstart: has no effect here: checktype = off checks nothing",
		"test.cf:7: virtual: checks every 30 seconds, too slowly for the global flapdamping = 2/60s (line 1) ever to act here",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

// TestMetricsDirective: metrics takes an IP address and a port, warns as an
// extension (and once more on an address that serves every interface),
// prints back, and refuses anything else with the file and the line.
func TestMetricsDirective(t *testing.T) {
	good := []struct {
		line string
		want netip.AddrPort
		warn int
	}{
		{"metrics = 127.0.0.1:9469", netip.MustParseAddrPort("127.0.0.1:9469"), 1},
		{`metrics = "[::1]:9469"`, netip.MustParseAddrPort("[::1]:9469"), 1},
		{"metrics = 10.0.0.7:65535", netip.MustParseAddrPort("10.0.0.7:65535"), 1},
		{"metrics = 0.0.0.0:9469", netip.MustParseAddrPort("0.0.0.0:9469"), 2},
	}
	for _, tc := range good {
		cfg := mustParse(t, tc.line+"\n"+block())
		if cfg.Global.Metrics != tc.want {
			t.Errorf("%q: Metrics %v, want %v", tc.line, cfg.Global.Metrics, tc.want)
		}
		if len(cfg.Warnings) != tc.warn || !strings.Contains(cfg.Warnings[0].String(), "test.cf:1: metrics: is an extension") {
			t.Errorf("%q: warnings %v, want %d, the first that it is an extension", tc.line, cfg.Warnings, tc.warn)
		}
		if !bytes.Contains(Format(cfg), []byte("\nmetrics = "+tc.want.String()+"\n")) {
			t.Errorf("%q: Format does not print it:\n%s", tc.line, Format(cfg))
		}
		checkRoundTrip(t, cfg)
	}
	if cfg := mustParse(t, block()); cfg.Global.Metrics.IsValid() || bytes.Contains(Format(cfg), []byte("metrics")) {
		t.Errorf("metrics is on without the directive: %v", cfg.Global.Metrics)
	}
	for _, v := range []string{"localhost:9469", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":9469", "::1:9469", "127.0.0.1:http", "yes", ""} {
		src := "metrics = " + v + "\n" + block()
		want := "test.cf:1: metrics: " + strconv.Quote(v) + " is not an address to serve the metrics on: an IP address and a port, as in 127.0.0.1:9469 or [::1]:9469"
		if got := errorLines(t, src); len(got) != 1 || got[0] != want {
			t.Errorf("%q:\n got %q\nwant %q", v, got, want)
		}
	}
	if got := errorLines(t, block("metrics = 127.0.0.1:9469")); len(got) != 1 || !strings.Contains(got[0], "metrics") {
		t.Errorf("metrics in a virtual block: %q, want it refused", got)
	}
}
