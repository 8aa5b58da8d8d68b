package packaging

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// dpkgRoot makes an empty dpkg database under dir, so that the package is
// installed for real by dpkg, but beside the system: installing it over the
// system would remove Debian's Perl ldirectord (the package conflicts with
// it and replaces it), which other tests run as the reference.
func dpkgRoot(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMakeDebBuildsInstallsAndRemoves(t *testing.T) {
	need(t, "make", "make")
	dpkg := need(t, "dpkg", "dpkg")
	dpkgDeb := need(t, "dpkg-deb", "dpkg")
	ldirectord(t)
	const version = "0.1.0+test"
	mustRun(t, nil, "make", "--no-print-directory", "-C", root(t), "deb", "VERSION="+version)
	deb := filepath.Join(root(t), "bin", "ldirectord-go_"+version+"_"+runtime.GOARCH+".deb")
	t.Cleanup(func() { os.Remove(deb) })

	// The package lists every installed file with its mode.
	listing := mustRun(t, nil, dpkgDeb, "-c", deb)
	files := map[string]string{}
	for _, l := range strings.Split(listing, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 {
			files[strings.TrimPrefix(f[len(f)-1], ".")] = f[0]
		}
	}
	for _, f := range installed {
		mode, ok := files[f.path]
		if !ok {
			t.Errorf("dpkg -c does not list %s", f.path)
			continue
		}
		if want := "-" + f.mode.String()[1:]; mode != want {
			t.Errorf("%s has mode %s in the package, want %s", f.path, mode, want)
		}
	}

	fields := mustRun(t, nil, dpkgDeb, "-f", deb, "Package", "Version", "Conflicts", "Replaces", "Provides")
	for _, want := range []string{"Package: ldirectord-go", "Version: " + version, "Conflicts: ldirectord", "Replaces: ldirectord", "Provides: ldirectord"} {
		if !strings.Contains(fields, want) {
			t.Errorf("the package's control lacks %q:\n%s", want, fields)
		}
	}
	ctrl := t.TempDir()
	mustRun(t, nil, dpkgDeb, "-e", deb, ctrl)
	conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil {
		t.Fatalf("the package has no conffiles: %v", err)
	}
	got := strings.Fields(string(conffiles))
	sort.Strings(got)
	want := []string{"/etc/ha.d/ldirectord.cf", "/etc/ha.d/resource.d/ldirectord", "/etc/logrotate.d/ldirectord"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("conffiles = %v, want %v", got, want)
	}

	// dpkg installs it; the installed program runs and accepts the
	// installed configuration.
	dir := t.TempDir()
	// ocf-tester runs the installed agent as nobody too.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dpkgRoot(t, dir)
	mustRun(t, nil, dpkg, "--root="+dir, "--force-script-chrootless", "-i", deb)
	if st := mustRun(t, nil, dpkg, "--root="+dir, "-s", "ldirectord-go"); !strings.Contains(st, "Status: install ok installed") {
		t.Fatalf("dpkg -s after dpkg -i:\n%s", st)
	}
	for _, f := range installed {
		if _, err := os.Stat(dir + f.path); err != nil {
			t.Errorf("dpkg -i did not install %s: %v", f.path, err)
		}
	}
	bin := dir + "/usr/sbin/ldirectord"
	mustRun(t, nil, bin, "--version")
	mustRun(t, nil, bin, "--check", dir+"/etc/ha.d/ldirectord.cf")
	in := newInstance(t, "deb.cf")
	ocfTester(t, in, dir+"/usr/lib/ocf/resource.d/ldirectord-go/ldirectord", "configfile="+in.conf, "binary="+bin)

	mustRun(t, nil, dpkg, "--root="+dir, "--force-script-chrootless", "-P", "ldirectord-go")
	for _, f := range installed {
		if _, err := os.Stat(dir + f.path); err == nil {
			t.Errorf("dpkg -P left %s behind", f.path)
		}
	}
}
