package perlref

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
	"github.com/ldirectord-go/ldirectord/internal/ipvsadm"
	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/plan"
)

// TestConfDiff runs Perl on configurations whose real servers are all up
// (checktype = on) or all down (checktype = off) and compares the table it builds with the one our
// configuration model and plan.Desired say it should be, as ipvsadm would
// list both.
func TestConfDiff(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.cf configurations (%v)", err)
	}
	// conf's own golden inputs are compared as well when all their
	// addresses are on loopback and their checks are on or off.
	more, _ := filepath.Glob("../../conf/testdata/*.cf")
	for _, f := range more {
		cfg, err := conf.Load(f)
		if err != nil {
			continue // an input that is meant to fail
		}
		if why := ineligible(cfg); why != "" {
			t.Logf("%s not compared: %s", f, why)
			continue
		}
		files = append(files, f)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in := Start(t, string(text), Options{})
			cfg, err := conf.Load(in.Config)
			if err != nil {
				t.Fatalf("conf.Load(%s): %v", file, err)
			}
			want := listing(plan.Desired(cfg, fixedHealth(cfg)))
			got := waitListing(in, want, 60*time.Second)
			t.Logf("table:\n%s", got)
			if got != want {
				t.Errorf("%s: Perl's table differs from plan.Desired's\nPerl:\n%s\nours:\n%s\nipvsadm calls:\n%v",
					file, show(got), show(want), in.Changes())
			}
		})
	}
}

// ineligible says why Perl must not run a configuration here: it would
// contact servers beyond loopback, or its health is not fixed.
func ineligible(cfg *conf.Config) string {
	for _, v := range cfg.Virtuals {
		if v.Check.Type != conf.CheckOn && v.Check.Type != conf.CheckOff {
			return fmt.Sprintf("virtual at line %d has checktype %s", v.Line, v.Check.Type)
		}
		addrs := []netip.Addr{v.Addr}
		for _, r := range append(v.Reals, v.Settings.Fallback, v.Settings.Fallback6) {
			if r != nil {
				addrs = append(addrs, r.Addr)
			}
		}
		for _, a := range addrs {
			if a.IsValid() && !a.IsLoopback() {
				return fmt.Sprintf("virtual at line %d uses %s, not a loopback address", v.Line, a)
			}
		}
	}
	return ""
}

// fixedHealth is the health the fixed check types give: on is up, off
// (and anything else, which these configurations do not use) is down.
func fixedHealth(cfg *conf.Config) plan.Health {
	h := plan.Health{}
	for _, v := range cfg.Virtuals {
		s := plan.Down
		if v.Check.Type == conf.CheckOn {
			s = plan.Up
		}
		for _, r := range v.Reals {
			h.Set(v.ID, r.ID, s)
		}
	}
	return h
}

// listing prints a table as both ipvsadm listings, after the kernel's
// normalization, so that two tables compare as text.
func listing(vs []kernel.Virtual) string {
	n := make([]kernel.Virtual, len(vs))
	for i, v := range vs {
		n[i] = v.Normalize()
	}
	return ipvsadm.Format(n, false) + ipvsadm.Format(n, true)
}

// waitListing waits for Perl's table to list as want and returns its last
// listing; Perl passes through other tables while it starts.
func waitListing(in *Instance, want string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		got := listing(in.Table())
		if got == want || time.Now().After(deadline) {
			return got
		}
		if exited, err := in.Exited(); exited {
			in.t.Fatalf("ldirectord exited: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// show makes trailing blanks visible.
func show(s string) string { return strings.ReplaceAll(s, " \n", "·\n") }
