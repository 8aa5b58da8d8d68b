package demo

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// renderer is the VM's console writer: it shows the guest script's lines
// for a person as they come and drops everything else the console prints.
type renderer struct {
	mu      sync.Mutex
	out     io.Writer
	color   bool
	partial []byte
	p       parser
	reached map[string]string
}

func newRenderer(out io.Writer, color bool) *renderer {
	return &renderer{out: out, color: color, reached: map[string]string{}}
}

func (r *renderer) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, b...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		r.line(string(r.partial[:i]))
		r.partial = r.partial[i+1:]
	}
	return len(b), nil
}

// flush shows a last line that has no newline.
func (r *renderer) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.partial) > 0 {
		r.line(string(r.partial))
		r.partial = nil
	}
}

func (r *renderer) line(l string) {
	e, ok := r.p.line(l)
	if !ok {
		return
	}
	w := r.out
	switch e.Kind {
	case "say":
		fmt.Fprintf(w, "\n%s\n", r.paint("1;36", "==> "+e.Text))
	case "conf":
		fmt.Fprintf(w, "    %s\n", r.dim("| "+e.Text))
	case "note":
		fmt.Fprintf(w, "    %s\n", e.Text)
	case "table":
		fmt.Fprintf(w, "    %s\n", r.dim(fmt.Sprintf("# ipvsadm -Ln   (the table changed, %.1f s after boot)", e.At)))
		for _, row := range strings.Split(strings.TrimSuffix(e.Text, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", row)
		}
	case "answer":
		fmt.Fprintf(w, "    %s %s\n", r.dim("# wget -qO- http://"+virtualIP+"/  ->"), r.paint("32", e.Text))
	case "reached":
		name, took, _ := strings.Cut(e.Text, " ")
		r.reached[name] = took
		fmt.Fprintf(w, "    %s\n", r.dim("(that took "+took+" s)"))
	case "log":
		fmt.Fprintf(w, "    %s\n", r.dim("log| "+e.Text))
	case "fail":
		fmt.Fprintf(w, "\n%s\n", r.paint("1;31", "!!! "+e.Text))
	}
}

const virtualIP = "192.0.2.80"

func (r *renderer) paint(code, s string) string {
	if !r.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (r *renderer) dim(s string) string { return r.paint("2", s) }

// summary says what the viewer just saw, step by step, with the time each
// step took in the guest.
func (r *renderer) summary(rep *Report, steps []Step) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", r.paint("1;36", "==> What you just saw (real kernel IPVS in a VM, our ldirectord driving it):"))
	for _, s := range steps {
		took := ""
		if t, ok := r.reached[s.Name]; ok {
			took = " (" + t + " s)"
		}
		fmt.Fprintf(&b, "    %s %s%s\n", r.paint("32", "ok"), s.Saw, took)
	}
	var answers []string
	seen := map[string]bool{}
	for _, e := range rep.Events {
		if e.Kind == "answer" && !seen[e.Text] {
			seen[e.Text] = true
			answers = append(answers, fmt.Sprintf("%q", e.Text))
		}
	}
	fmt.Fprintf(&b, "    %s requests to http://%s/ were answered by the servers in the table: %s\n",
		r.paint("32", "ok"), virtualIP, strings.Join(answers, ", "))
	fmt.Fprintf(&b, "    The whole run, VM boot included, took %.1f s.\n", rep.Duration.Seconds())
	return b.String()
}
