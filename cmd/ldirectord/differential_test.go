package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/perlref"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// canonical writes a table in one normalized, ordered form, so that two
// tables print alike exactly when they hold the same services and
// destinations with the same settings.
func canonical(vs []kernel.Virtual) string {
	var lines []string
	for _, v := range vs {
		v = v.Normalize()
		s := v.Service
		head := fmt.Sprintf("%s %s p=%d m=%d f=%v o=%v", s.Key(), s.Scheduler, s.Persistent, s.NetmaskBits, s.Flags, s.OnePacket)
		lines = append(lines, head)
		for _, d := range v.Destinations {
			lines = append(lines, fmt.Sprintf("%s  %s %s w=%d u=%d l=%d", head, d.Key(), d.Method, d.Weight, d.Upper, d.Lower))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func (e *env) list() []kernel.Virtual {
	vs, _ := e.read()
	return vs
}

// The same configuration and the same failures and recoveries of the real
// servers, given to the Perl ldirectord and to ours: after each step both
// tables must settle to the same state.
func TestDifferentialAgainstPerl(t *testing.T) {
	for _, quiescent := range []string{"no", "yes"} {
		t.Run("quiescent="+quiescent, func(t *testing.T) {
			perlref.Require(t, "LWP::UserAgent=libwww-perl")
			e := newEnv(t)
			r1, r2 := newBackend(t, "127.0.0.2"), newBackend(t, "127.0.0.3")
			text := fmt.Sprintf(`checktimeout=3
checkinterval=1
quiescent=%s
virtual=127.0.0.1:80
	real=%s masq 2
	real=%s masq 1
	fallback=127.0.0.1:9 masq
	service=http
	request="index.html"
	receive="alive"
	scheduler=wrr
	protocol=tcp
	checktype=negotiate
virtual=127.0.0.1:81
	real=%s masq 3
	service=http
	request="index.html"
	receive="alive"
	scheduler=rr
	persistent=60
	protocol=tcp
	checktype=negotiate
`, quiescent, r1.addr, r2.addr, r2.addr)
			perl := perlref.Start(t, text, perlref.Options{})
			e.config(text)
			e.mustLd("l.cf", "start")
			defer e.ld("l.cf", "stop")

			steps := []struct {
				name string
				act  func()
			}{
				{"both up", func() {}},
				{"r2 down", r2.down},
				{"r2 back", r2.up},
				{"r1 sick", func() { r1.healthy.Store(false) }},
				{"all down", r2.down},
				{"r1 back", func() { r1.healthy.Store(true) }},
				{"r2 back", r2.up},
			}
			for _, s := range steps {
				s.act()
				// Let both notice (checkinterval = 1), then wait until
				// they agree and stay agreed for two intervals.
				deadline := time.Now().Add(60 * time.Second)
				var ours, theirs string
				agreedAt := time.Time{}
				for {
					ours, theirs = canonical(e.list()), canonical(perl.Table())
					if ours == theirs {
						if agreedAt.IsZero() {
							agreedAt = time.Now()
						}
						if time.Since(agreedAt) > 2500*time.Millisecond {
							break
						}
					} else {
						agreedAt = time.Time{}
					}
					if time.Now().After(deadline) {
						t.Fatalf("step %q: tables differ\nours:\n%s\nperl:\n%s\nour log:\n%s", s.name, ours, theirs, e.log())
					}
					time.Sleep(100 * time.Millisecond)
				}
				t.Logf("step %q: both at\n%s", s.name, ours)
			}
			perl.Stop()
			e.mustLd("l.cf", "stop")
			if ours, theirs := canonical(e.list()), canonical(perl.Table()); ours != theirs {
				t.Errorf("after stop: ours\n%s\nperl\n%s", ours, theirs)
			}
		})
	}
}
