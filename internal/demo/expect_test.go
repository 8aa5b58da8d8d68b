package demo

import (
	"strings"
	"testing"
)

const header = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"

// listing is an `ipvsadm -Ln` text with the demo's virtual service and the
// given real servers ("10.2.1.2:80 1"), or an empty table for none.
func listing(reals ...string) string {
	if reals == nil {
		return header
	}
	s := header + "TCP  192.0.2.80:80 rr\n"
	for _, r := range reals {
		addr, w, _ := strings.Cut(r, " ")
		s += "  -> " + addr + strings.Repeat(" ", 29-len(addr)) + "Masq    " + w + strings.Repeat(" ", 7-len(w)) + "0          0         \n"
	}
	return s
}

// guestOutput builds what the guest prints from tables and other lines.
func guestOutput(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if strings.HasPrefix(p, "IP Virtual Server") {
			b.WriteString("@demo table 1.5\n")
			for _, l := range strings.Split(strings.TrimSuffix(p, "\n"), "\n") {
				b.WriteString("@demo row " + l + "\n")
			}
			b.WriteString("@demo end\n")
			continue
		}
		b.WriteString("@demo " + p + "\n")
	}
	return b.String()
}

func TestCheck(t *testing.T) {
	all := listing("10.2.1.2:80 1", "10.2.2.2:80 1", "10.2.3.2:80 1")
	noRS2 := listing("10.2.1.2:80 1", "10.2.3.2:80 1")
	fallback := listing("10.2.4.2:80 1")
	good := []string{
		"say starting", listing(), listing("10.2.1.2:80 1"), all,
		"answer OK from rs1", "answer OK from rs2",
		noRS2, "answer OK from rs3", all,
		listing("10.2.2.2:80 1"), fallback, "answer sorry, every real server is down",
		listing(), "done",
	}
	swap := append([]string{}, good...)
	swap[6], swap[8] = swap[8], swap[6]
	cases := []struct {
		name  string
		parts []string
		want  string // "" for success, else a part of the error
	}{
		{"every step in order", good, ""},
		{"rs2 back before it left", swap, "never showed step"},
		{"rs2 never leaves", append(good[:6:6], good[8:]...), "never showed step rs2-out"},
		{"rs2 answers while out", replace(good, "answer OK from rs3", "answer OK from rs2"), `got "OK from rs2", expected one of`},
		{"the fallback answers while reals are in", replace(good, "answer OK from rs2", "answer sorry, every real server is down"), "expected one of"},
		{"no request at the fallback", replace(good, "answer sorry, every real server is down", "note nothing"), "no request was made"},
		{"weight 0 instead of gone", replace(good, noRS2, listing("10.2.1.2:80 1", "10.2.2.2:80 0", "10.2.3.2:80 1")), "never showed step rs2-out"},
		{"table left behind on stop", good[:len(good)-2], "never showed step stopped"},
		{"guest did not finish", good[:len(good)-1], "did not finish"},
		{"guest gave up", append(good[:4:4], "fail the table is wrong"), "the guest failed: the table is wrong"},
		{"garbled table", replace(good, noRS2, "IP Virtual Server version 1.2.1 (size=4096)\nnonsense"), "does not parse"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(parseEvents(guestOutput(c.parts...)), Expected(false))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Check: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("Check passed, want an error with %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("Check: %v\nwant an error with %q", err, c.want)
			}
		})
	}
}

func replace(parts []string, old, new string) []string {
	out := append([]string{}, parts...)
	for i, p := range out {
		if p == old {
			out[i] = new
			return out
		}
	}
	panic("replace: " + old + " not found")
}

func TestRendererShowsOnlyGuestLines(t *testing.T) {
	var b strings.Builder
	r := newRenderer(&b, false)
	in := "[    1.2] kernel noise\r\n@demo say hello\r\n@demo table 2.0\r\n@demo row x\r\n@dem"
	r.Write([]byte(in))
	r.Write([]byte("o end\r\n@demo answer OK from rs1"))
	r.flush()
	got := b.String()
	for _, want := range []string{"==> hello\n", "    x\n", "-> OK from rs1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "kernel noise") || strings.Contains(got, "@demo") {
		t.Errorf("rendered output shows console lines that are not the demo's:\n%s", got)
	}
}
