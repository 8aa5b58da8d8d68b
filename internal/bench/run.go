package bench

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// Options say what one run of one peer measures.
type Options struct {
	N          int    // real servers in the configuration
	CheckType  string // "negotiate" or "connect"
	Interval   time.Duration
	Timeout    time.Duration
	PerVirtual int // reals per virtual service
	// Settle is the wait between a complete table and the steady-state
	// window, Window the window's length.
	Settle, Window time.Duration
	// StartCap bounds the wait for a complete table, at start-up, after a
	// failure scenario and after a reload.
	StartCap time.Duration
	// DetectCap is how long past Interval+Timeout a failure scenario
	// waits for the failed reals to leave the table.
	DetectCap time.Duration
	// Ks are the numbers of reals failed at once, each tried with every
	// kind of Failures (Refused, BlackHole).
	Ks       []int
	Failures []State
	// ReloadChange is how many reals the reload changes; 0 skips it.
	ReloadChange int
	// Warm starts the peer on a table that already holds every real, as
	// a restart finds it, instead of an empty one: the file stand-in
	// rewrites the whole table for each write, and Perl's fake ipvsadm
	// writes once per real, so that building 10,000 reals takes it many
	// minutes. The start-up figure is then the
	// time until every real was checked once and the table is complete.
	Warm bool
	// Logf reports progress.
	Logf func(format string, args ...any) `json:"-"`
	// Started and Stopped, when set, are told the process group of each
	// peer, so that a harness cut short can end what it started.
	Started, Stopped func(pgid int) `json:"-"`
}

// Result is what one run of one peer measured. Durations are in
// nanoseconds in JSON.
type Result struct {
	Peer      Peer   `json:"peer"`
	N         int    `json:"n"`
	CheckType string `json:"checktype"`
	// StartUp is from start to a complete table (Warm: and every real
	// checked once); StartComplete is false when StartCap ran out first.
	Warm          bool          `json:"warm"`
	StartChanges  int           `json:"startup_table_changes"`
	StartUp       time.Duration `json:"startup_ns"`
	StartComplete bool          `json:"startup_complete"`
	// Steady state: CPU used by the process tree during Window, the checks
	// that reached the real servers meanwhile, and their ratio.
	// SteadyChanges counts the table's changes in the window: none are
	// due.
	Window        time.Duration `json:"window_ns"`
	SteadyChanges int           `json:"steady_table_changes"`
	Checks        int           `json:"checks"`
	CPU           time.Duration `json:"cpu_ns"`
	CPUPer1000    float64       `json:"cpu_s_per_1000_checks"`
	// CheckRate is the checks made over those due: 1 keeps to the
	// schedule, below 1 falls behind it.
	CheckRate float64 `json:"check_rate"`
	// PeakRSS is the highest sum of VmHWM over the process tree, in bytes.
	PeakRSS uint64 `json:"peak_rss_bytes"`
	// Lateness is how much later than Interval each check came after the
	// one before it, seen from the real servers.
	Lateness  Dist        `json:"lateness"`
	Detection []Detection `json:"detection,omitempty"`
	Reload    *Reload     `json:"reload,omitempty"`
	Notes     []string    `json:"notes,omitempty"`
}

// Detection is one failure scenario: K reals failed at once.
type Detection struct {
	Failure string `json:"failure"`
	K       int    `json:"k"`
	// Latencies are from each failure to the real leaving the table (or
	// going to weight 0), Cap for the Missed ones, still in after the cap;
	// Latency summarises them.
	Latencies []time.Duration `json:"latencies_ns"`
	Latency   Dist            `json:"latency"`
	// Reals and FailedAt name each failed real and when it failed, in
	// the order of Latencies, so that a run's figures can be set beside
	// the daemon's own log.
	Reals    []netip.AddrPort `json:"reals"`
	FailedAt []time.Time      `json:"failed_at"`
	Missed   int              `json:"missed"`
	Cap      time.Duration    `json:"cap_ns"`
	// TableChanges counts the table's changes until the last real left.
	TableChanges int `json:"table_changes"`
}

// Reload is the reload scenario: Changed reals changed in the file, half of
// them by weight (one table change each), half replaced by another address
// (a delete and an add each).
type Reload struct {
	Reals           int           `json:"reals"`
	Changed         int           `json:"changed"`
	ExpectedChanges int           `json:"expected_table_changes"`
	TableChanges    int           `json:"table_changes"`
	Converged       bool          `json:"converged"`
	Time            time.Duration `json:"time_ns"`

	servers []*Server // the reals of the new configuration
}

// changeCounter counts the table changes a daemon makes, from its own
// record of them: the calls of the fake ipvsadm that change the table
// (Perl), or the "ipvs change" lines of our log. The table file's writes
// would not do: ours writes each batch of changes at once.
type changeCounter struct {
	d    *Daemon
	seen int
}

func (c *changeCounter) total() int {
	n := 0
	count := func(path string, match func(string) bool) {
		data, err := os.ReadFile(path)
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" && match(l) {
				n++
			}
		}
	}
	switch c.d.Peer {
	case Perl, PerlFork:
		count(c.d.IPVSADMLog, func(l string) bool { return !strings.HasPrefix(l, "-L") })
	case Ours:
		ours := func(l string) bool { return strings.Contains(l, "ipvs change") }
		count(c.d.Output, ours)
		count(c.d.Log, ours)
	}
	return n
}

// drain is where a counter that must keep up with events would read
// them; the daemons' records keep.
func (c *changeCounter) drain() {}

// take returns the count since the last take, after a short wait for
// the record of the last change.
func (c *changeCounter) take() int {
	time.Sleep(200 * time.Millisecond)
	n := c.total()
	d := n - c.seen
	c.seen = n
	return d
}

// pollEvery is how often the table file is looked at.
const pollEvery = 5 * time.Millisecond

// Run starts peer on the first opts.N servers of farm, measures it and
// stops it. The farm needs opts.ReloadChange spare servers past N. Errors
// that end a run early become notes in the result; an error is returned
// only when nothing could be measured.
func Run(peer Peer, progs Programs, farm *Farm, dir string, opts Options) (Result, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if len(farm.Servers()) < opts.N+opts.ReloadChange {
		return Result{}, fmt.Errorf("farm of %d servers: want %d and %d spares", len(farm.Servers()), opts.N, opts.ReloadChange)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, err
	}
	res := Result{Peer: peer, N: opts.N, CheckType: opts.CheckType, Warm: opts.Warm && peer != Floor}
	servers := farm.Servers()[:opts.N]
	cfg := Config{PerVirtual: opts.PerVirtual, CheckType: opts.CheckType, Interval: opts.Interval, Timeout: opts.Timeout}
	for _, s := range servers {
		cfg.Reals = append(cfg.Reals, Real{Addr: s.Addr, Weight: 1})
	}
	farm.Reset()
	cleanup, err := tableDir(filepath.Join(dir, "table"))
	if err != nil {
		return res, err
	}
	defer cleanup()
	if res.Warm {
		if err := writeTable(filepath.Join(dir, "table", "ipvs.json"), cfg); err != nil {
			return res, err
		}
	}
	d, err := StartDaemon(peer, progs, dir, cfg)
	if err != nil {
		return res, err
	}
	wc := &changeCounter{d: d}
	if opts.Started != nil {
		opts.Started(d.Pid())
	}
	defer func() {
		if err := d.Stop(30 * time.Second); err != nil {
			res.Notes = append(res.Notes, err.Error())
		}
		if opts.Stopped != nil {
			opts.Stopped(d.Pid())
		}
	}()
	sampler := Sample(d.Pid(), 250*time.Millisecond)
	defer sampler.Stop()
	tf := OpenTableFile(d.Table)
	all := func() bool {
		for _, s := range servers {
			if !tf.Serving(s.Addr) {
				return false
			}
		}
		return true
	}
	checked := func() bool {
		for _, s := range servers {
			if s.Arrivals() == nil {
				return false
			}
		}
		return all()
	}

	if peer != Floor {
		logf("%s N=%d: waiting for the complete table", peer, opts.N)
		ready := all
		if res.Warm {
			ready = checked
		}
		ok, err := waitTable(d, tf, wc, ready, opts.StartCap)
		if err != nil {
			return res, err
		}
		res.StartComplete = ok
		res.StartUp = tf.Changed.Sub(d.Started)
		if res.Warm {
			res.StartUp = time.Since(d.Started)
		}
		res.StartChanges = wc.take()
		if !ok {
			res.StartUp = time.Since(d.Started)
			res.Notes = append(res.Notes, fmt.Sprintf("start-up: %d of %d reals in the table after %v; later figures were not measured",
				len(tf.Reals), opts.N, opts.StartCap))
		}
	}

	time.Sleep(opts.Settle)
	logf("%s N=%d: steady state for %v", peer, opts.N, opts.Window)
	wc.take()
	steady(&res, d, farm, servers, opts)
	res.SteadyChanges = wc.take()

	if peer != Floor && res.StartComplete && opts.ReloadChange > 0 {
		logf("%s N=%d: reload with %d reals changed", peer, opts.N, opts.ReloadChange)
		r, err := reload(d, tf, wc, farm, cfg, opts)
		if err != nil {
			res.Notes = append(res.Notes, err.Error())
		}
		res.Reload = r
		// The reload's configuration is the one the scenarios run on.
		if r != nil && r.Converged {
			servers = r.servers
		} else if r != nil {
			res.Notes = append(res.Notes, "reload did not converge; later scenarios were not run")
			goto done
		}
	}
	if peer != Floor && res.StartComplete {
		for _, f := range opts.Failures {
			for _, k := range opts.Ks {
				logf("%s N=%d: %d reals %v", peer, opts.N, k, f)
				det, ok, err := detect(d, tf, wc, servers, f, k, all, opts)
				if err != nil {
					return res, err
				}
				res.Detection = append(res.Detection, det)
				if !ok {
					res.Notes = append(res.Notes, fmt.Sprintf("after %d reals %v and back: table incomplete after %v; later scenarios were not run", k, f, opts.StartCap))
					goto done
				}
			}
		}
	}
done:
	res.PeakRSS = sampler.Peak()
	if exited, err := d.Exited(); exited {
		res.Notes = append(res.Notes, fmt.Sprintf("%s exited during the run (%v):\n%s", peer, err, d.OutputTail(20)))
	}
	return res, nil
}

// writeTable writes the table that cfg makes with every real up, in the
// format of tablefile.Table, in one write.
func writeTable(path string, cfg Config) error {
	var vs []kernel.Virtual
	per := max(1, cfg.PerVirtual)
	for i := 0; i < len(cfg.Reals); i += per {
		a := virtualAddr(i/per, cfg.Reals[i].Addr.Port())
		v := kernel.Virtual{Service: kernel.Service{Protocol: "tcp", Addr: a.Addr(), Port: a.Port(), Scheduler: "wlc"}}
		for _, r := range cfg.Reals[i:min(i+per, len(cfg.Reals))] {
			v.Destinations = append(v.Destinations, kernel.Destination{Addr: r.Addr.Addr(), Port: r.Addr.Port(), Method: kernel.Gate, Weight: r.Weight})
		}
		vs = append(vs, v)
	}
	data, err := json.Marshal(struct {
		Virtuals []kernel.Virtual `json:"virtuals"`
	}{vs})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("warm table: %w", err)
	}
	// The file must be a table tablefile.Table reads.
	ft, err := tablefile.Open(path)
	if err == nil {
		var got []kernel.Virtual
		if got, err = ft.List(); err == nil && len(got) != len(vs) {
			err = fmt.Errorf("%d virtuals read back, %d written", len(got), len(vs))
		}
	}
	if err != nil {
		return fmt.Errorf("warm table %s: %w", path, err)
	}
	return nil
}

// waitTable polls the table until cond holds; false when limit ran out.
func waitTable(d *Daemon, tf *TableFile, wc *changeCounter, cond func() bool, limit time.Duration) (bool, error) {
	deadline := time.Now().Add(limit)
	for {
		wc.drain()
		if _, err := tf.Poll(); err != nil {
			return false, err
		}
		if cond() {
			return true, nil
		}
		if exited, err := d.Exited(); exited {
			return false, fmt.Errorf("%s exited (%v) before the table was complete:\n%s", d.Peer, err, d.OutputTail(20))
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(pollEvery)
	}
}

func steady(res *Result, d *Daemon, farm *Farm, servers []*Server, opts Options) {
	cpu0, err0 := TreeCPU(d.Pid())
	req0 := farm.Requests()
	t0 := time.Now()
	time.Sleep(opts.Window)
	cpu1, err1 := TreeCPU(d.Pid())
	req1 := farm.Requests()
	t1 := time.Now()
	if err0 != nil || err1 != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("steady state: %v %v", err0, err1))
		return
	}
	res.Window, res.CPU, res.Checks = t1.Sub(t0), cpu1-cpu0, req1-req0
	if res.Checks > 0 {
		res.CPUPer1000 = res.CPU.Seconds() / float64(res.Checks) * 1000
	}
	due := float64(len(servers)) * res.Window.Seconds() / opts.Interval.Seconds()
	res.CheckRate = float64(res.Checks) / due
	var late []time.Duration
	for _, s := range servers {
		late = append(late, Lateness(s.Arrivals(), opts.Interval, farm.Since(t0), farm.Since(t1))...)
	}
	res.Lateness = Summarize(late)
}

// tableDir makes dir, where the table stand-in lives, a link to a fresh
// directory on /dev/shm when there is one: the kernel's table is memory,
// and on a disk the stand-in's rename of a 1 MB file over the last one
// (10,000 reals) made ext4 flush it, stalling writes for up to a second
// whenever other work used the disk. cleanup removes the directory.
func tableDir(dir string) (cleanup func(), err error) {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if shm, err := os.MkdirTemp("/dev/shm", "ldbench-table-"); err == nil {
			if err := os.Symlink(shm, dir); err != nil {
				os.RemoveAll(shm)
				return nil, err
			}
			return func() { os.RemoveAll(shm) }, nil
		}
	}
	return func() {}, os.MkdirAll(dir, 0o755)
}

// victims picks k servers spread evenly over the list.
func victims(servers []*Server, k int) []*Server {
	k = max(1, min(k, len(servers)))
	out := make([]*Server, k)
	for i := range out {
		out[i] = servers[i*len(servers)/k]
	}
	return out
}

// detect fails k reals, waits for each to leave the table and brings them
// back; ok is false when the table was not complete again within StartCap.
func detect(d *Daemon, tf *TableFile, wc *changeCounter, servers []*Server, f State, k int, all func() bool, opts Options) (Detection, bool, error) {
	vs := victims(servers, k)
	det := Detection{Failure: f.String(), K: len(vs), Cap: opts.Interval + opts.Timeout + opts.DetectCap}
	at := make([]time.Time, len(vs))
	wc.take()
	for i, s := range vs {
		var err error
		if f == BlackHole {
			err = s.BlackHole()
		} else {
			err = s.Refuse()
		}
		if err != nil {
			return det, false, err
		}
		at[i] = time.Now()
		det.Reals = append(det.Reals, s.Addr)
	}
	det.FailedAt = at
	out := make([]time.Duration, len(vs))
	left := len(vs)
	deadline := at[len(at)-1].Add(det.Cap)
	for left > 0 && time.Now().Before(deadline) {
		wc.drain()
		changed, err := tf.Poll()
		if err != nil {
			return det, false, err
		}
		if changed {
			for i, s := range vs {
				if out[i] == 0 && !tf.Serving(s.Addr) {
					out[i] = max(tf.Changed.Sub(at[i]), time.Nanosecond)
					left--
				}
			}
		}
		time.Sleep(pollEvery)
	}
	for i, l := range out {
		if l == 0 {
			out[i] = det.Cap
		}
	}
	det.Latencies, det.Latency, det.Missed = out, Summarize(out), left
	det.TableChanges = wc.take()
	for _, s := range vs {
		if err := s.Recover(); err != nil {
			return det, false, err
		}
	}
	ok, err := waitTable(d, tf, wc, all, opts.StartCap)
	return det, ok, err
}

// reload rewrites the configuration with opts.ReloadChange reals changed,
// sends SIGHUP and counts the table's changes until it matches the new
// configuration and for two quiet seconds after.
func reload(d *Daemon, tf *TableFile, wc *changeCounter, farm *Farm, cfg Config, opts Options) (*Reload, error) {
	n := len(cfg.Reals)
	r := &Reload{Reals: n, Changed: min(opts.ReloadChange, n)}
	next := cfg
	next.Reals = append([]Real(nil), cfg.Reals...)
	spare := farm.Servers()[n:]
	for j := 0; j < r.Changed; j++ {
		i := j * n / r.Changed
		if j%2 == 0 {
			next.Reals[i].Weight = 2
			r.ExpectedChanges++
		} else {
			next.Reals[i] = Real{Addr: spare[j/2].Addr, Weight: 1}
			r.ExpectedChanges += 2
		}
	}
	want := map[netip.AddrPort]int{}
	for _, rl := range next.Reals {
		want[rl.Addr] = rl.Weight
	}
	for _, s := range farm.Servers() {
		if _, ok := want[s.Addr]; ok {
			r.servers = append(r.servers, s)
		}
	}
	converged := func() bool {
		if len(tf.Reals) != len(want) {
			return false
		}
		for a, w := range want {
			if tf.Reals[a] != w {
				return false
			}
		}
		return true
	}

	wc.take()
	next.LogFile = d.Log
	next.Fork = d.Peer == PerlFork
	tmp := d.Config + ".new"
	if err := os.WriteFile(tmp, []byte(next.Text()), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, d.Config); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := d.Reload(); err != nil {
		return nil, err
	}
	deadline := start.Add(opts.StartCap)
	for time.Now().Before(deadline) {
		wc.drain()
		if _, err := tf.Poll(); err != nil {
			return nil, err
		}
		if converged() {
			r.Converged = true
			r.Time = tf.Changed.Sub(start)
			break
		}
		time.Sleep(pollEvery)
	}
	if !r.Converged {
		r.Time = time.Since(start)
	}
	for quiet := time.Now().Add(2 * time.Second); time.Now().Before(quiet); time.Sleep(50 * time.Millisecond) {
		wc.drain()
	}
	r.TableChanges = wc.take()
	return r, nil
}
