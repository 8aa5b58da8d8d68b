package vmbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the times in /proc/<pid>/stat.
const clockTick = 10 * time.Millisecond

// stat reads a process's parent and its CPU: utime+stime and the
// cutime+cstime of the children it has waited for (keepalived's checker,
// the Perl ldirectord's ipvsadm runs).
func stat(pid int) (ppid int, cpu time.Duration, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may hold anything.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no ')' after the command name", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want 15 or more", pid, len(f))
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	for _, s := range f[11:15] {
		ticks, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/stat: times: %w", pid, err)
		}
		cpu += time.Duration(ticks) * clockTick
	}
	return ppid, cpu, nil
}

// tree returns pid and its live descendants.
func tree(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, err := stat(p); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	t := []int{pid}
	for i := 0; i < len(t); i++ {
		t = append(t, children[t[i]]...)
	}
	return t
}

// treeCPU is the CPU used so far by pid's process tree.
func treeCPU(pid int) (time.Duration, error) {
	var total time.Duration
	for i, p := range tree(pid) {
		_, cpu, err := stat(p)
		if err != nil {
			if i == 0 {
				return 0, fmt.Errorf("daemon pid %d: %w", pid, err)
			}
			continue // a child gone meanwhile
		}
		total += cpu
	}
	return total, nil
}

// treePeakRSS sums VmHWM (peak resident set) over pid's live process tree.
func treePeakRSS(pid int) (kib int64, err error) {
	for i, p := range tree(pid) {
		v, err := vmHWM(p)
		if err != nil {
			if i == 0 {
				return 0, fmt.Errorf("daemon pid %d: %w", pid, err)
			}
			continue
		}
		kib += v
	}
	return kib, nil
}

func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM line", pid)
}
