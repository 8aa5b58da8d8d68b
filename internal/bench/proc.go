package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTick is USER_HZ, the unit of the times in /proc/<pid>/stat; it is
// 100 on every Linux architecture Go builds for.
const clockTick = 10 * time.Millisecond

// procStat is what the harness reads from /proc/<pid>/stat.
type procStat struct {
	ppid int
	// cpu is utime+stime of the process and cutime+cstime of the
	// children it has waited for (a fork = yes child, an ipvsadm run).
	cpu time.Duration
	// sys is the system part of cpu: stime and cstime.
	sys time.Duration
	// faults are the page faults (minor and major) of the process and
	// of the children it has waited for.
	faults int64
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name is in parentheses and may hold anything.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no ')' after the command name", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want 15 or more", pid, len(f))
	}
	var st procStat
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	for _, s := range f[7:11] { // minflt cminflt majflt cmajflt
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: faults: %w", pid, err)
		}
		st.faults += n
	}
	for i, s := range f[11:15] { // utime stime cutime cstime
		ticks, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: times: %w", pid, err)
		}
		st.cpu += time.Duration(ticks) * clockTick
		if i%2 == 1 {
			st.sys += time.Duration(ticks) * clockTick
		}
	}
	return st, nil
}

// Tree returns pid and its live descendants.
func Tree(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pid}
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(p)
		if err != nil {
			continue // gone meanwhile
		}
		children[st.ppid] = append(children[st.ppid], p)
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// TreeCPU is the CPU time (user and system) used so far by pid, its live
// descendants and the children they have waited for.
func TreeCPU(pid int) (time.Duration, error) {
	total, _, _, err := TreeCPUSys(pid)
	return total, err
}

// TreeCPUSys is TreeCPU, the part of it spent in the kernel, and the page
// faults of the same processes.
func TreeCPUSys(pid int) (total, sys time.Duration, faults int64, err error) {
	for i, p := range Tree(pid) {
		st, err := readStat(p)
		if err != nil {
			if i == 0 {
				return 0, 0, 0, fmt.Errorf("CPU time of pid %d: %w", pid, err)
			}
			continue
		}
		total += st.cpu
		sys += st.sys
		faults += st.faults
	}
	return total, sys, faults, nil
}

// statusKB reads one "Name:   123 kB" line of /proc/<pid>/status.
func statusKB(pid int, name string) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseUint(v, 10, 64)
		}
	}
	// Kernel threads and zombies have no memory lines.
	return 0, nil
}

// TreeHWM is the sum of the peak resident set sizes (VmHWM), in bytes, of
// pid and its live descendants. Pages that forked children share are
// counted once per process, as ps and top count them.
func TreeHWM(pid int) (uint64, error) {
	var total uint64
	for i, p := range Tree(pid) {
		kb, err := statusKB(p, "VmHWM")
		if err != nil {
			if i == 0 {
				return 0, fmt.Errorf("peak RSS of pid %d: %w", pid, err)
			}
			continue
		}
		total += kb * 1024
	}
	return total, nil
}

// Sampler follows a process tree in the background and keeps the highest
// TreeHWM seen, since processes that come and go take their peak with them.
type Sampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	peak uint64
}

// Sample starts sampling pid's tree every interval until Stop.
func Sample(pid int, every time.Duration) *Sampler {
	s := &Sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.once()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *Sampler) once() {
	hwm, err := TreeHWM(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.peak = max(s.peak, hwm)
	s.mu.Unlock()
}

// Peak is the highest TreeHWM seen so far, in bytes.
func (s *Sampler) Peak() uint64 {
	s.once()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Stop ends the sampling.
func (s *Sampler) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}
