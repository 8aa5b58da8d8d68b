package vmbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Ours serves net/http/pprof at the address in this variable
// (cmd/ldirectord/pprof.go); the guest sets it when Params.Profile is.
const (
	pprofEnv  = "LDIRECTORD_PPROF"
	pprofAddr = "127.0.0.1:6060"
)

// profileSlack bounds a profile fetch beyond the profile's own duration:
// at 1,000 reals the daemon has no CPU to spare, and it writes the
// profile only once it gets some.
const profileSlack = 60 * time.Second

// fetchProfile gets /debug/pprof/<name> (a gzipped protobuf) from ours.
func fetchProfile(ctx context.Context, name string, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d+profileSlack)
	defer cancel()
	url := "http://" + pprofAddr + "/debug/pprof/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}

type profileResult struct {
	data []byte
	err  error
}

// startCPUProfile asks ours for a CPU profile of the next secs seconds.
// The request comes from this process, not the daemon's tree: only the
// profiling itself (SIGPROF a hundred times a second, and the handler
// that waits) lands in the daemon's measured CPU.
func startCPUProfile(ctx context.Context, secs int) <-chan profileResult {
	ch := make(chan profileResult, 1)
	go func() {
		d := time.Duration(secs) * time.Second
		data, err := fetchProfile(ctx, fmt.Sprintf("profile?seconds=%d", secs), d)
		ch <- profileResult{data, err}
	}()
	return ch
}

// profileSeconds is the CPU profile's length: the steady window in whole
// seconds (pprof takes no less), at least one.
func profileSeconds(steady time.Duration) int {
	return max(1, int(steady/time.Second))
}

// WriteProfiles writes the profiles the guest took (Params.Profile) into
// dir as PEER-N.cpu.pprof, PEER-N.heap.pprof and PEER-N.allocs.pprof and
// returns the paths written.
func (r *Report) WriteProfiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vmbench: profile directory: %w", err)
	}
	var written []string
	for _, f := range r.Results {
		for _, p := range []struct {
			kind string
			data []byte
		}{{"cpu", f.CPUProfile}, {"heap", f.HeapProfile}, {"allocs", f.AllocsProfile}} {
			if len(p.data) == 0 {
				continue
			}
			path := filepath.Join(dir, fmt.Sprintf("%s-%d.%s.pprof", f.Peer, f.N, p.kind))
			if err := os.WriteFile(path, p.data, 0o644); err != nil {
				return written, fmt.Errorf("vmbench: writing a profile: %w", err)
			}
			written = append(written, path)
		}
	}
	return written, nil
}

// collectProfiles waits for the CPU profile under way and then takes the
// heap and allocs profiles; errors come back as one message, since a
// missing profile leaves the figures valid.
func collectProfiles(ctx context.Context, cpu <-chan profileResult, exited chan struct{}) (cpuProf, heap, allocs []byte, errs string) {
	note := func(what string, err error) {
		if errs != "" {
			errs += "; "
		}
		errs += what + ": " + err.Error()
	}
	select {
	case r := <-cpu:
		cpuProf = r.data
		if r.err != nil {
			note("CPU profile", r.err)
		}
	case <-exited:
		note("CPU profile", fmt.Errorf("the daemon exited"))
		return
	}
	var err error
	if heap, err = fetchProfile(ctx, "heap", 0); err != nil {
		note("heap profile", err)
	}
	if allocs, err = fetchProfile(ctx, "allocs", 0); err != nil {
		note("allocs profile", err)
	}
	return
}
