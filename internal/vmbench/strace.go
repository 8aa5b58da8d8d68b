package vmbench

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/bench"
)

// StraceBinary is the host's strace, seen through the share; nothing is
// installed for it.
const StraceBinary = "/usr/bin/strace"

// straceSlack bounds strace's attaching to the daemon's threads and its
// detaching and summing up: ptrace under TCG is slow, and the daemon may
// be busy.
const straceSlack = 60 * time.Second

// straceWindow counts the syscalls of the daemon's process tree (pid and
// its descendants, every thread, -f for those created meanwhile) over a
// window of p.Steady, and the checks the reals served over the same
// window. It returns strace -c's summary.
func straceWindow(ctx context.Context, p Params, pid int, reals *farm, exited chan struct{}) (summary string, made int64, secs float64, err error) {
	if _, err := os.Stat(StraceBinary); err != nil {
		return "", 0, 0, fmt.Errorf("no strace (Debian package strace on the host): %w", err)
	}
	out := filepath.Join(workDir, "strace.txt")
	os.Remove(out)
	procs := bench.Tree(pid)
	args := []string{"-c", "-f", "-S", "calls", "-o", out}
	for _, t := range procs {
		args = append(args, "-p", strconv.Itoa(t))
	}
	cmd := exec.Command(StraceBinary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, 0, fmt.Errorf("starting %s: %w", StraceBinary, err)
	}
	// strace says "Process N attached" once per -p, or why not (a
	// process gone meanwhile); the window opens when all are settled, so
	// that it counts every process the whole time.
	var (
		mu   sync.Mutex
		said strings.Builder
	)
	attached := make(chan struct{})
	ended := make(chan struct{}) // strace's stderr closed: it is exiting
	go func() {
		defer close(ended)
		s := bufio.NewScanner(stderr)
		n := 0
		for s.Scan() {
			line := s.Text()
			mu.Lock()
			said.WriteString(line + "\n")
			mu.Unlock()
			if strings.Contains(line, " attached") || strings.Contains(line, "attach: ") {
				if n++; n == len(procs) {
					close(attached)
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	stderrText := func() string {
		mu.Lock()
		defer mu.Unlock()
		return said.String()
	}
	waited := make(chan error, 1)
	detach := func() error {
		cmd.Process.Signal(syscall.SIGINT)
		go func() { <-ended; waited <- cmd.Wait() }()
		select {
		case err := <-waited:
			return err
		case <-time.After(straceSlack):
			// Killed, strace lets go of its tracees all the same.
			cmd.Process.Kill()
			<-waited
			return fmt.Errorf("strace took over %s to detach; killed", straceSlack)
		}
	}
	select {
	case <-attached:
	case <-ended:
		err := cmd.Wait()
		return "", 0, 0, fmt.Errorf("strace exited before attaching to pids %v: %v: %s", procs, err, stderrText())
	case <-time.After(straceSlack):
		detach()
		return "", 0, 0, fmt.Errorf("strace had not attached to pids %v after %s: %s", procs, straceSlack, stderrText())
	}

	made0 := reals.checks.Load()
	t0 := time.Now()
	select {
	case <-exited:
		detach()
		return "", 0, 0, fmt.Errorf("the daemon exited under strace: %s", stderrText())
	case <-ctx.Done():
		detach()
		return "", 0, 0, ctx.Err()
	case <-time.After(p.Steady):
	}
	made = reals.checks.Load() - made0
	secs = time.Since(t0).Seconds()
	// strace exits 0 after SIGINT once it has written the summary; a
	// status from the summing up is no reason to drop it.
	derr := detach()
	data, err := os.ReadFile(out)
	if err != nil || len(data) == 0 {
		return "", made, secs, fmt.Errorf("strace wrote no summary to %s (%v, %v): %s", out, err, derr, stderrText())
	}
	return string(data), made, secs, nil
}

// StraceCalls parses the strace -c summary of f: calls per syscall, and
// their total.
func (f Figures) StraceCalls() (map[string]int64, int64, error) {
	calls := map[string]int64{}
	var total int64
	for _, line := range strings.Split(f.StraceSummary, "\n") {
		// % time, seconds, usecs/call, calls, [errors,] syscall
		fs := strings.Fields(line)
		if len(fs) < 5 {
			continue
		}
		if _, err := strconv.ParseFloat(fs[0], 64); err != nil {
			continue // header, rule
		}
		n, err := strconv.ParseInt(fs[3], 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("strace summary of %s at N=%d: calls in %q: %w", f.Peer, f.N, line, err)
		}
		name := fs[len(fs)-1]
		if name == "total" {
			total = n
			continue
		}
		calls[name] += n
	}
	if total == 0 {
		return nil, 0, fmt.Errorf("strace summary of %s at N=%d has no total line", f.Peer, f.N)
	}
	return calls, total, nil
}

// WriteStrace writes the strace summaries the guest took (Params.Strace)
// into dir as PEER-N.strace.txt and returns the paths written.
func (r *Report) WriteStrace(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vmbench: strace directory: %w", err)
	}
	var written []string
	for _, f := range r.Results {
		if f.StraceSummary == "" {
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.strace.txt", f.Peer, f.N))
		text := fmt.Sprintf("# %s, %d reals: strace -c -f over %.1f s, %d checks made\n%s", f.Peer, f.N, f.StraceSec, f.StraceChecksMade, f.StraceSummary)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return written, fmt.Errorf("vmbench: writing a strace summary: %w", err)
		}
		written = append(written, path)
	}
	return written, nil
}

// straceRows are the syscalls the check path makes, in the table's order;
// the rest add up in "others".
var straceRows = []struct {
	label string
	names []string
}{
	{"connect", []string{"connect"}},
	{"socket", []string{"socket"}},
	{"setsockopt", []string{"setsockopt"}},
	{"epoll_*", nil}, // by prefix
	{"read/recvfrom", []string{"read", "recvfrom"}},
	{"write/sendto", []string{"write", "sendto"}},
	{"close", []string{"close"}},
	{"futex", []string{"futex"}},
	{"nanosleep", []string{"nanosleep"}},
	{"getsockopt", []string{"getsockopt"}},
	{"getpeername", []string{"getpeername"}},
	{"getsockname", []string{"getsockname"}},
}

// straceRow is the label of the row that counts a syscall.
func straceRow(name string) string {
	if strings.HasPrefix(name, "epoll_") {
		return "epoll_*"
	}
	for _, r := range straceRows {
		if slices.Contains(r.names, name) {
			return r.label
		}
	}
	return "others"
}

// WriteStraceTable prints, for every peer with a strace summary, its
// syscalls per check made over the strace window, by syscall, then what
// "others" holds.
func (r *Report) WriteStraceTable(w io.Writer) error {
	type col struct {
		f     Figures
		rows  map[string]int64
		other map[string]int64
		total int64
	}
	var cols []col
	for _, f := range r.Results {
		if f.StraceSummary == "" || f.StraceChecksMade == 0 {
			continue
		}
		calls, total, err := f.StraceCalls()
		if err != nil {
			return err
		}
		c := col{f: f, rows: map[string]int64{}, other: map[string]int64{}, total: total}
		for name, n := range calls {
			row := straceRow(name)
			c.rows[row] += n
			if row == "others" {
				c.other[name] = n
			}
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "syscalls per check made\t")
	for _, c := range cols {
		fmt.Fprintf(tw, "%s N=%d\t", c.f.Peer, c.f.N)
	}
	fmt.Fprintln(tw)
	line := func(label string, get func(col) float64, format string) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, c := range cols {
			fmt.Fprintf(tw, format+"\t", get(c))
		}
		fmt.Fprintln(tw)
	}
	per := func(n int64, c col) float64 { return float64(n) / float64(c.f.StraceChecksMade) }
	for _, r := range straceRows {
		line(r.label, func(c col) float64 { return per(c.rows[r.label], c) }, "%.2f")
	}
	line("others", func(c col) float64 { return per(c.rows["others"], c) }, "%.2f")
	line("total", func(c col) float64 { return per(c.total, c) }, "%.2f")
	line("checks made", func(c col) float64 { return float64(c.f.StraceChecksMade) }, "%.0f")
	line("window s", func(c col) float64 { return c.f.StraceSec }, "%.1f")
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range cols {
		names := make([]string, 0, len(c.other))
		for name := range c.other {
			names = append(names, name)
		}
		slices.SortFunc(names, func(a, b string) int {
			return cmp.Or(cmp.Compare(c.other[b], c.other[a]), strings.Compare(a, b))
		})
		parts := make([]string, len(names))
		for i, name := range names {
			parts[i] = fmt.Sprintf("%s %.2f", name, per(c.other[name], c))
		}
		fmt.Fprintf(w, "others, %s N=%d: %s\n", c.f.Peer, c.f.N, strings.Join(parts, ", "))
	}
	return nil
}
