package bench

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

const burn = `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`

// startTree starts sh running script in its own process group, killed when
// the test ends.
func startTree(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

func TestTreeCPUCountsLiveAndWaitedChildren(t *testing.T) {
	// The first child burns and is waited for; the second burns and stays.
	cmd := startTree(t, `sh -c '`+burn+`'; sh -c '`+burn+`; sleep 60' & sleep 60`)
	pid := cmd.Process.Pid
	var tree []int
	deadline := time.Now().Add(60 * time.Second)
	for {
		tree = Tree(pid)
		cpu, err := TreeCPU(pid)
		if err != nil {
			t.Fatal(err)
		}
		// Each burn takes well over 100ms, while the sh processes
		// themselves use almost nothing.
		own, err := readStat(pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(tree) >= 3 && own.cpu > 100*time.Millisecond && cpu-own.cpu > 100*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tree %v: CPU %v (own and waited-for %v), want both burns counted", tree, cpu, own.cpu)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tree[0] != pid {
		t.Fatalf("Tree(%d) = %v, want the root first", pid, tree)
	}
	if _, err := TreeCPU(1 << 30); err == nil {
		t.Fatal("TreeCPU of a missing pid: no error")
	}
}

func TestTreeHWMSeesAnAllocation(t *testing.T) {
	// The resident size now, not its peak: an earlier test may have
	// left the peak above what this allocation reaches.
	kb, err := statusKB(os.Getpid(), "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	before := kb * 1024
	s := Sample(os.Getpid(), 10*time.Millisecond)
	defer s.Stop()
	buf := make([]byte, 64<<20)
	for i := range buf {
		if i%4096 == 0 {
			buf[i] = 1
		}
	}
	after := s.Peak()
	if after < before+60<<20 {
		t.Fatalf("peak RSS %d bytes after touching 64 MiB, with %d resident before", after, before)
	}
	buf[len(buf)-1] = 2
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(ds)
	want := Dist{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if got := Summarize([]time.Duration{7}); got != (Dist{N: 1, P50: 7, P99: 7, Max: 7}) {
		t.Fatalf("Summarize of one = %+v", got)
	}
	if got := Summarize(nil); got != (Dist{}) {
		t.Fatalf("Summarize(nil) = %+v", got)
	}
}

func TestLateness(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	arrivals := []time.Duration{0, s + 10*ms, 2*s + 5*ms, 3*s + 500*ms, 9 * s}
	got := Lateness(arrivals, s, 0, 5*s)
	want := []time.Duration{10 * ms, -5 * ms, 495 * ms}
	if !slices.Equal(got, want) {
		t.Fatalf("Lateness = %v, want %v", got, want)
	}
}
