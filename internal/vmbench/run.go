package vmbench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/vm"
)

// resultPrefix starts the guest's one line of JSON on the console.
const resultPrefix = "vmbench-report: "

// Packages of the host programs the peers run in the guest.
var peerPackages = map[string]struct{ path, pkg string }{
	Keepalived: {KeepalivedBinary, "keepalived"},
	Perl:       {PerlBinary, "ldirectord"},
}

// Run builds our ldirectord and the guest driver (CGO_ENABLED=0), boots
// the VM on the host's / (vm.Options.HostRoot), runs Guest there and
// returns its report. The go command must be in PATH and the working
// directory inside this module. progress, if not nil, receives the guest's
// progress lines as they come.
func Run(ctx context.Context, p Params, progress io.Writer) (*Report, error) {
	for _, peer := range p.Peers {
		if pp, ok := peerPackages[peer]; ok {
			if _, err := os.Stat(pp.path); err != nil {
				return nil, fmt.Errorf("vmbench: peer %s needs %s: install Debian package %s", peer, pp.path, pp.pkg)
			}
		}
	}
	dir, err := os.MkdirTemp("", "vmbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ours := filepath.Join(dir, "ldirectord")
	guest := filepath.Join(dir, "vmbench-guest")
	for _, b := range []struct{ out, pkg string }{
		{ours, "github.com/ldirectord-go/ldirectord/cmd/ldirectord"},
		{guest, "github.com/ldirectord-go/ldirectord/internal/vmbench/cmd/vmguest"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("vmbench: building %s: %w\n%s", b.pkg, err, out)
		}
	}
	if p.Profile && p.ProfileDir != "" {
		if err := copyFile(filepath.Join(p.ProfileDir, "ldirectord"), ours); err != nil {
			return nil, fmt.Errorf("vmbench: keeping the binary profiled: %w", err)
		}
	}
	params, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	pf := filepath.Join(dir, "params.json")
	if err := os.WriteFile(pf, params, 0o644); err != nil {
		return nil, err
	}
	var console io.Writer
	if progress != nil {
		pr, pw := io.Pipe()
		defer pw.Close()
		go func() {
			s := bufio.NewScanner(pr)
			s.Buffer(make([]byte, 64<<10), 64<<20)
			for s.Scan() {
				if line := strings.TrimRight(s.Text(), "\r"); strings.HasPrefix(line, "vmbench: ") {
					fmt.Fprintln(progress, line)
				}
			}
			io.Copy(io.Discard, pr)
		}()
		console = pw
	}
	res, err := vm.Run(ctx, vm.Options{
		HostRoot: true,
		Binaries: []string{ours, guest},
		Files:    map[string]string{"/etc/vmbench/params.json": pf},
		Command:  "/bin/vmbench-guest",
		Args:     []string{"/etc/vmbench/params.json"},
		MemoryMB: 2048,
		CPUs:     p.CPUs,
		Timeout:  budget(p),
		Console:  console,
	})
	if err != nil {
		return nil, fmt.Errorf("vmbench: %w", err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("vmbench: the guest exited with status %d; its output:\n%s", res.ExitCode, res.Output)
	}
	for _, line := range strings.Split(res.Output, "\n") {
		if js, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), resultPrefix); ok {
			var rep Report
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				return nil, fmt.Errorf("vmbench: the guest's report: %w", err)
			}
			rep.VMSec = res.Duration.Seconds()
			return &rep, nil
		}
	}
	return nil, fmt.Errorf("vmbench: the guest printed no %q line; its output:\n%s", resultPrefix, res.Output)
}

// budget bounds the VM run: every peer at every size waiting its longest,
// in every detection round and every wait for restored reals.
func budget(p Params) time.Duration {
	total := 2 * time.Minute
	for _, n := range p.Sizes {
		k := max(1, n*p.KillPercent/100)
		rounds := max(1, (p.MinSamples+k-1)/k)
		per := p.StartLimit + p.Steady + 30*time.Second +
			2*time.Duration(rounds)*(p.DetectLimit+p.StartLimit)
		if p.Profile {
			per += p.Steady + 3*profileSlack
		}
		if p.Strace {
			per += p.StartLimit + p.Steady + 3*straceSlack
		}
		for _, peer := range p.Peers {
			if m, ok := p.MaxN[peer]; !ok || n <= m {
				total += per
			}
		}
	}
	return total
}

// GuestMain is the guest driver's whole program: it reads the parameters
// from the file named by args[0], runs Guest and prints the report as one
// line of JSON; the exit status is 0 when the report was printed.
func GuestMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: vmbench-guest PARAMS.json (run by vmbench.Run inside the VM)")
		return 2
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmbench:", err)
		return 1
	}
	var p Params
	if err := json.Unmarshal(data, &p); err != nil {
		fmt.Fprintf(os.Stderr, "vmbench: parameters %s: %v\n", args[0], err)
		return 1
	}
	rep, err := Guest(context.Background(), p, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmbench:", err)
		return 1
	}
	js, err := json.Marshal(rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmbench:", err)
		return 1
	}
	fmt.Printf("%s%s\n", resultPrefix, js)
	return 0
}

// copyFile copies src to dst, making dst's directory.
func copyFile(dst, src string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
