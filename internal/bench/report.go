package bench

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a run happened.
type Machine struct {
	CPU     string  `json:"cpu"`
	Cores   int     `json:"cores"`
	MemMB   int     `json:"mem_mb"`
	Kernel  string  `json:"kernel"`
	Go      string  `json:"go"`
	Load    string  `json:"loadavg_at_start"`
	Date    string  `json:"date"`
	Elapsed float64 `json:"elapsed_s,omitempty"`
}

// ThisMachine reads the machine's description from /proc.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339)}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if kb, err := statusKBFile("/proc/meminfo", "MemTotal"); err == nil {
		m.MemMB = int(kb / 1024)
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.Load = strings.Join(strings.Fields(string(data))[:3], " ")
	}
	return m
}

// Report is everything one ldbench run measured: the JSON file it writes.
type Report struct {
	Machine  Machine  `json:"machine"`
	Options  Options  `json:"options"`
	Results  []Result `json:"results"`
	Problems []string `json:"problems,omitempty"`
}

// find returns the result of peer at n.
func (r *Report) find(peer Peer, n int) *Result {
	for i := range r.Results {
		if r.Results[i].Peer == peer && r.Results[i].N == n {
			return &r.Results[i]
		}
	}
	return nil
}

// ks lists the numbers of failed reals tried at n, in the order tried.
func (r *Report) ks(n int) []int {
	var ks []int
	seen := map[int]bool{}
	for _, res := range r.Results {
		for _, d := range res.Detection {
			if res.N == n && !seen[d.K] {
				seen[d.K] = true
				ks = append(ks, d.K)
			}
		}
	}
	return ks
}

// metric is one row of the table: how to read a figure from a result, and
// what the floor is when the floor program cannot show it.
type metric struct {
	name  string
	value func(*Result) (float64, string, bool)
	floor func(Options) (float64, string, bool)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func metrics(o Options) []metric {
	ms0 := func(v float64) string { return fmt.Sprintf("%.0f ms", v) }
	rows := []metric{
		{name: "start-up to complete table", value: func(r *Result) (float64, string, bool) {
			if r.Peer == Floor {
				return 0, "", false
			}
			v := r.StartUp.Seconds()
			warm := ""
			if r.Warm {
				warm = " (warm)"
			}
			if !r.StartComplete {
				return v, fmt.Sprintf("> %.0f s%s", v, warm), true
			}
			return v, fmt.Sprintf("%.2f s%s", v, warm), true
		}},
		{name: "table changes at start-up", value: func(r *Result) (float64, string, bool) {
			return float64(r.StartChanges), fmt.Sprint(r.StartChanges), r.Peer != Floor && r.StartComplete
		}},
		{name: "CPU s per 1,000 checks", value: func(r *Result) (float64, string, bool) {
			return r.CPUPer1000, fmt.Sprintf("%.3f", r.CPUPer1000), r.Checks > 0
		}},
		{name: "checks made / due", value: func(r *Result) (float64, string, bool) {
			return r.CheckRate, fmt.Sprintf("%.2f", r.CheckRate), r.Window > 0
		}},
		{name: "peak RSS (tree)", value: func(r *Result) (float64, string, bool) {
			v := float64(r.PeakRSS) / (1 << 20)
			return v, fmt.Sprintf("%.1f MB", v), r.PeakRSS > 0
		}},
		{name: "check lateness p99", value: func(r *Result) (float64, string, bool) {
			v := ms(r.Lateness.P99)
			return v, ms0(v), r.Lateness.N > 0
		}},
	}
	for _, f := range o.Failures {
		for _, k := range o.Ks {
			for _, p := range []string{"p50", "p99", "max"} {
				name := fmt.Sprintf("detect %d %s %s", k, f, p)
				f, k, p := f, k, p
				rows = append(rows, metric{name: name,
					value: func(r *Result) (float64, string, bool) {
						for _, d := range r.Detection {
							if d.Failure != f.String() || d.K != k {
								continue
							}
							lat := map[string]time.Duration{"p50": d.Latency.P50, "p99": d.Latency.P99, "max": d.Latency.Max}[p]
							v := ms(lat)
							if d.Missed > 0 && lat >= d.Cap {
								// Missed reals count as the cap, which
								// is then a lower bound.
								return v, fmt.Sprintf("> %s (%d of %d missed)", ms0(v), d.Missed, d.K), true
							}
							return v, ms0(v), true
						}
						return 0, "", false
					},
					floor: func(o Options) (float64, string, bool) {
						// A failure is seen at the next check at the
						// latest; a black hole then takes the timeout.
						v := o.Interval
						if f == BlackHole {
							v += o.Timeout
						}
						return ms(v), ms0(ms(v)) + " (schedule)", true
					}})
			}
		}
	}
	rows = append(rows, metric{name: "reload: time to converge", value: func(r *Result) (float64, string, bool) {
		if r.Reload == nil {
			return 0, "", false
		}
		v := r.Reload.Time.Seconds()
		if !r.Reload.Converged {
			return v, fmt.Sprintf("> %.0f s", v), true
		}
		return v, fmt.Sprintf("%.2f s", v), true
	}}, metric{name: "reload: table changes (needed)", value: func(r *Result) (float64, string, bool) {
		if r.Reload == nil {
			return 0, "", false
		}
		return float64(r.Reload.TableChanges), fmt.Sprintf("%d (%d)", r.Reload.TableChanges, r.Reload.ExpectedChanges), true
	}})
	return rows
}

// Table is the report as one Markdown table: for each N and each figure,
// every peer's value and ours divided by each of theirs (below 1: ours is
// better, as every figure is a cost).
func (r *Report) Table(ns []int, peers []Peer) string {
	var b strings.Builder
	var others []Peer
	for _, p := range peers {
		if p != Ours {
			others = append(others, p)
		}
	}
	b.WriteString("| N | figure |")
	for _, p := range peers {
		fmt.Fprintf(&b, " %s |", p)
	}
	for _, p := range others {
		fmt.Fprintf(&b, " ours/%s |", p)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(peers)+len(others)) + "\n")
	for _, n := range ns {
		o := r.Options
		o.Ks = r.ks(n)
		label := fmt.Sprint(n)
		for _, res := range r.Results {
			if res.N == n {
				label = fmt.Sprintf("%d %s", n, res.CheckType)
				break
			}
		}
		for _, m := range metrics(o) {
			vals := map[Peer]float64{}
			cells := map[Peer]string{}
			any := false
			for _, p := range peers {
				res := r.find(p, n)
				if res == nil {
					continue
				}
				v, s, ok := m.value(res)
				if ok {
					any = true
				} else if p == Floor && m.floor != nil {
					v, s, ok = m.floor(o)
				}
				if ok {
					vals[p], cells[p] = v, s
				}
			}
			if !any {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s |", label, m.name)
			for _, p := range peers {
				fmt.Fprintf(&b, " %s |", dash(cells[p]))
			}
			for _, p := range others {
				ours, ok1 := vals[Ours]
				theirs, ok2 := vals[p]
				cell := ""
				if ok1 && ok2 && theirs > 0 {
					cell = fmt.Sprintf("%.2f", ours/theirs)
					if strings.HasPrefix(cells[Ours], ">") || strings.HasPrefix(cells[p], ">") {
						// A capped figure makes the ratio a bound.
						cell = "~" + cell
					}
				}
				fmt.Fprintf(&b, " %s |", dash(cell))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// statusKBFile reads one "Name: 123 kB" line of a /proc file.
func statusKBFile(path, name string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			var kb uint64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb, err
		}
	}
	return 0, fmt.Errorf("%s: no %s line", path, name)
}
