// Package perlref runs Debian's Perl ldirectord, the reference
// implementation, from Go tests. Each Instance has its own working
// directory holding the configuration and cmd/fakeipvsadm as ./ipvsadm,
// which the Perl daemon run with -d uses instead of the real ipvsadm; the
// IPVS table it builds lives in a JSON file (tablefile.Table) that the
// test reads. The package owns nothing else: what it shows of Perl's
// behaviour is written down in PERL_BEHAVIOUR.md.
//
// A test starts Perl on a configuration, waits for the table it expects
// and looks at the ipvsadm calls that led there:
//
//	in := perlref.Start(t, cfgText, perlref.Options{})
//	vs := in.WaitTable(func(vs []kernel.Virtual) bool { return len(vs) == 1 }, time.Minute)
//	t.Log(in.Changes()) // "-A -t 127.0.0.1:80 -s wrr ", "-a -t ...", ...
//	in.Stop()           // one SIGTERM; Perl cleans the table up
package perlref

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/ipvsadm"
	"github.com/ldirectord-go/ldirectord/internal/tablefile"
	"github.com/ldirectord-go/ldirectord/kernel"
)

// Program is the Perl ldirectord, from Debian's ldirectord package.
const Program = "/usr/sbin/ldirectord"

// Options adjust an Instance.
type Options struct {
	// Table is the IPVS table before the daemon starts.
	Table []kernel.Virtual
	// Env is added to the daemon's environment.
	Env []string
}

// Instance is one running Perl ldirectord.
type Instance struct {
	t testing.TB
	// Dir is the working directory; Config, State, Log and Output are the
	// files in it: the configuration, the IPVS table, the ipvsadm call
	// log and the daemon's stdout and stderr.
	Dir, Config, State, Log, Output string

	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

var (
	buildOnce sync.Once
	fakePath  string
	buildErr  error
)

// fakeipvsadm builds cmd/fakeipvsadm once per test binary. The binary goes
// to a fixed place under the temporary directory, replaced by rename so that
// test binaries running at once never see half a file.
func fakeipvsadm() (string, error) {
	buildOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("ldirectord-perlref-%d", os.Getuid()))
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		tmp, err := os.CreateTemp(dir, "fakeipvsadm.*")
		if err != nil {
			buildErr = err
			return
		}
		tmp.Close()
		out, err := exec.Command("go", "build", "-o", tmp.Name(),
			"github.com/ldirectord-go/ldirectord/cmd/fakeipvsadm").CombinedOutput()
		if err != nil {
			os.Remove(tmp.Name())
			buildErr = fmt.Errorf("go build cmd/fakeipvsadm: %v\n%s", err, out)
			return
		}
		fakePath = filepath.Join(dir, "fakeipvsadm")
		buildErr = os.Rename(tmp.Name(), fakePath)
	})
	return fakePath, buildErr
}

// Require fails the test, naming the Debian package to install, when the
// Perl ldirectord or one of the Perl modules is missing. Modules are given
// with their Debian package: "LWP::UserAgent=libwww-perl".
func Require(t testing.TB, modules ...string) {
	t.Helper()
	if _, err := os.Stat(Program); err != nil {
		t.Fatalf("the Perl reference %s is missing: apt-get install ldirectord (%v)", Program, err)
	}
	for _, m := range modules {
		mod, pkg, _ := strings.Cut(m, "=")
		if out, err := exec.Command("perl", "-M"+mod, "-e", "1").CombinedOutput(); err != nil {
			t.Fatalf("Perl module %s is missing: apt-get install %s (%v: %s)", mod, pkg, err, out)
		}
	}
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9]+`)

// Start writes the configuration and starts `ldirectord -d CONFIG start` in
// a fresh working directory. The daemon is stopped, and killed if need be,
// when the test ends. The configuration's file name is unique: Perl keys
// its pid file (/var/run/ldirectord.NAME.pid) on it, and an instance must
// never find another's.
func Start(t testing.TB, cfgText string, opts Options) *Instance {
	t.Helper()
	Require(t)
	fake, err := fakeipvsadm()
	if err != nil {
		t.Fatalf("perlref: %v", err)
	}
	dir := t.TempDir()
	name := fmt.Sprintf("perlref-%s-%d.cf", strings.Trim(unsafe.ReplaceAllString(t.Name(), "-"), "-"), time.Now().UnixNano())
	in := &Instance{
		t: t, Dir: dir,
		Config: filepath.Join(dir, name),
		State:  filepath.Join(dir, "ipvsadm.state"),
		Log:    filepath.Join(dir, "ipvsadm.log"),
		Output: filepath.Join(dir, "ldirectord.out"),
		done:   make(chan struct{}),
	}
	if err := os.Symlink(fake, filepath.Join(dir, "ipvsadm")); err != nil {
		t.Fatalf("perlref: %v", err)
	}
	if err := os.WriteFile(in.Config, []byte(cfgText), 0o644); err != nil {
		t.Fatalf("perlref: %v", err)
	}
	tab, err := tablefile.Open(in.State)
	if err != nil {
		t.Fatalf("perlref: %v", err)
	}
	for _, v := range opts.Table {
		if err := tab.AddService(v.Service); err != nil {
			t.Fatalf("perlref: initial table: %v", err)
		}
		for _, d := range v.Destinations {
			if err := tab.AddDestination(v.Service, d); err != nil {
				t.Fatalf("perlref: initial table: %v", err)
			}
		}
	}
	out, err := os.Create(in.Output)
	if err != nil {
		t.Fatalf("perlref: %v", err)
	}
	in.cmd = exec.Command(Program, "-d", in.Config, "start")
	in.cmd.Dir = dir
	in.cmd.Stdout, in.cmd.Stderr = out, out
	in.cmd.Env = append(os.Environ(), "FAKEIPVSADM_STATE="+in.State, "FAKEIPVSADM_LOG="+in.Log)
	in.cmd.Env = append(in.cmd.Env, opts.Env...)
	// Its own process group, so that cleanup can end the checks and
	// commands it runs along with it.
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := in.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("perlref: start %s: %v", Program, err)
	}
	go func() {
		in.waitErr = in.cmd.Wait()
		out.Close()
		close(in.done)
	}()
	t.Cleanup(func() {
		in.Stop()
		if t.Failed() {
			t.Logf("perlref: ldirectord output (last 60 lines):\n%s", tail(in.OutputText(), 60))
		}
	})
	return in
}

// Stop sends SIGTERM once and waits up to 30 seconds for the daemon to
// clean up and exit; then it kills the daemon's process group (Perl ends
// its own children when it exits normally). A second
// SIGTERM would make Perl die at once ("Exit Handler Repeatedly Called")
// without cleaning the table, so only one is ever sent.
func (in *Instance) Stop() {
	in.stopOnce.Do(func() {
		pid := in.cmd.Process.Pid
		select {
		case <-in.done:
		default:
			syscall.Kill(pid, syscall.SIGTERM)
			select {
			case <-in.done:
			case <-time.After(30 * time.Second):
				in.t.Errorf("perlref: ldirectord pid %d still running 30s after SIGTERM; killing its process group", pid)
				// The leader is alive, so the group id is still ours.
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		<-in.done
	})
}

// Reload replaces the configuration and sends SIGHUP, as `ldirectord
// reload` does. The file is replaced by rename so that Perl never reads half
// of it.
func (in *Instance) Reload(cfgText string) {
	in.t.Helper()
	tmp := in.Config + ".new"
	if err := os.WriteFile(tmp, []byte(cfgText), 0o644); err != nil {
		in.t.Fatalf("perlref: %v", err)
	}
	if err := os.Rename(tmp, in.Config); err != nil {
		in.t.Fatalf("perlref: %v", err)
	}
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		in.t.Fatalf("perlref: SIGHUP to ldirectord: %v", err)
	}
}

// Exited reports whether the daemon has exited, and its exit error.
func (in *Instance) Exited() (bool, error) {
	select {
	case <-in.done:
		return true, in.waitErr
	default:
		return false, nil
	}
}

// Table reads the IPVS table as the daemon left it.
func (in *Instance) Table() []kernel.Virtual {
	in.t.Helper()
	tab, err := tablefile.Open(in.State)
	if err != nil {
		in.t.Fatalf("perlref: %v", err)
	}
	vs, err := tab.List()
	if err != nil {
		in.t.Fatalf("perlref: %v", err)
	}
	return vs
}

// WaitTable polls the table until cond holds and returns it; after
// timeout it fails the test, showing the table and the ipvsadm calls.
func (in *Instance) WaitTable(cond func([]kernel.Virtual) bool, timeout time.Duration) []kernel.Virtual {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		vs := in.Table()
		if cond(vs) {
			return vs
		}
		if exited, err := in.Exited(); exited {
			in.t.Fatalf("perlref: ldirectord exited (%v) before the table was as expected; table:\n%s\nchanges:\n%s",
				err, ipvsadm.Format(vs, false), strings.Join(in.Changes(), "\n"))
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("perlref: table not as expected after %v:\n%s\nchanges:\n%s",
				timeout, ipvsadm.Format(vs, false), strings.Join(in.Changes(), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Calls returns every ipvsadm command line the daemon ran, in order.
func (in *Instance) Calls() []string {
	data, err := os.ReadFile(in.Log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		in.t.Fatalf("perlref: %v", err)
	}
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Changes returns the calls that change the table: all but the listings.
func (in *Instance) Changes() []string {
	var out []string
	for _, c := range in.Calls() {
		if !strings.HasPrefix(c, "-L") {
			out = append(out, c)
		}
	}
	return out
}

// OutputText is what the daemon printed so far.
func (in *Instance) OutputText() string {
	data, _ := os.ReadFile(in.Output)
	return string(data)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
