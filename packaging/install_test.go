package packaging

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// installed lists what make install puts in place, where Debian's
// ldirectord package puts it, with the repository file it comes from ("" for
// the built binary and manual page).
var installed = []struct {
	path string
	mode os.FileMode
	src  string
}{
	{"/usr/sbin/ldirectord", 0o755, ""},
	{"/usr/share/man/man8/ldirectord.8.gz", 0o644, ""},
	{"/lib/systemd/system/ldirectord.service", 0o644, "systemd/ldirectord.service"},
	{"/lib/systemd/system/ldirectord-notify.service", 0o644, "systemd/ldirectord-notify.service"},
	{"/usr/lib/ocf/resource.d/ldirectord-go/ldirectord", 0o755, "ocf/ldirectord"},
	{"/etc/ha.d/resource.d/ldirectord", 0o755, "heartbeat/ldirectord"},
	{"/etc/logrotate.d/ldirectord", 0o644, "logrotate/ldirectord"},
	{"/etc/ha.d/ldirectord.cf", 0o644, "examples/ldirectord.cf"},
	{"/usr/share/doc/ldirectord/examples/ldirectord.cf", 0o644, "examples/ldirectord.cf"},
}

// makeInstall runs make install into a fresh DESTDIR, building the binary
// and the manual page into the test's own directory.
func makeInstall(t *testing.T, vars ...string) string {
	t.Helper()
	need(t, "make", "make")
	ldirectord(t) // fail early, and clearly, when the daemon does not build
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "root")
	args := append([]string{"--no-print-directory", "-C", root(t), "install", "DESTDIR=" + dest,
		"BIN=" + filepath.Join(tmp, "ldirectord"), "MANPAGE=" + filepath.Join(tmp, "ldirectord.8")}, vars...)
	mustRun(t, nil, "make", args...)
	return dest
}

// checkManPage says whether path is a gzip-compressed ldirectord(8) page.
func checkManPage(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip data: %v", path, err)
	}
	page, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !bytes.Contains(page, []byte(".TH ldirectord 8 ")) {
		t.Errorf("%s is not the ldirectord(8) page: %.200q", path, page)
	}
}

func TestMakeInstallPutsEachFileInPlace(t *testing.T) {
	dest := makeInstall(t)
	for _, f := range installed {
		st, err := os.Stat(dest + f.path)
		if err != nil {
			t.Errorf("make install did not install %s: %v", f.path, err)
			continue
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s has mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
		if f.src == "" {
			continue
		}
		got, _ := os.ReadFile(dest + f.path)
		want, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from packaging/%s (PREFIX=/usr must install it unchanged)", f.path, f.src)
		}
	}
	checkManPage(t, dest+"/usr/share/man/man8/ldirectord.8.gz")

	bin := dest + "/usr/sbin/ldirectord"
	if out := mustRun(t, nil, bin, "--version"); strings.TrimSpace(out) == "" {
		t.Errorf("the installed ldirectord --version printed nothing")
	}
	mustRun(t, nil, bin, "--check", dest+"/usr/share/doc/ldirectord/examples/ldirectord.cf")
}

func TestMakeInstallKeepsTheOperatorsConfiguration(t *testing.T) {
	dest := makeInstall(t)
	conf := dest + "/etc/ha.d/ldirectord.cf"
	mine := []byte("# the operator's own\nchecktimeout = 7\n")
	if err := os.WriteFile(conf, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Dir(dest)
	mustRun(t, nil, "make", "--no-print-directory", "-C", root(t), "install", "DESTDIR="+dest,
		"BIN="+filepath.Join(tmp, "ldirectord"), "MANPAGE="+filepath.Join(tmp, "ldirectord.8"))
	if got, _ := os.ReadFile(conf); !bytes.Equal(got, mine) {
		t.Errorf("a second make install replaced /etc/ha.d/ldirectord.cf:\n%s", got)
	}
}

// With another PREFIX the binary moves and every script and unit names it
// there, while /etc, /lib/systemd and /usr/lib/ocf stay where the system
// looks for them.
func TestMakeInstallHonoursPrefix(t *testing.T) {
	dest := makeInstall(t, "PREFIX=/usr/local")
	for _, p := range []string{"/usr/local/sbin/ldirectord", "/usr/local/share/man/man8/ldirectord.8.gz",
		"/usr/local/share/doc/ldirectord/examples/ldirectord.cf"} {
		if _, err := os.Stat(dest + p); err != nil {
			t.Errorf("PREFIX=/usr/local: %s not installed: %v", p, err)
		}
	}
	if _, err := os.Stat(dest + "/usr/sbin/ldirectord"); err == nil {
		t.Errorf("PREFIX=/usr/local still installed /usr/sbin/ldirectord")
	}
	for _, p := range []string{"/lib/systemd/system/ldirectord.service", "/lib/systemd/system/ldirectord-notify.service",
		"/usr/lib/ocf/resource.d/ldirectord-go/ldirectord", "/etc/ha.d/resource.d/ldirectord"} {
		data, err := os.ReadFile(dest + p)
		if err != nil {
			t.Errorf("PREFIX=/usr/local: %s not installed: %v", p, err)
			continue
		}
		if !strings.Contains(string(data), "/usr/local/sbin/ldirectord") || strings.Contains(string(data), "/usr/sbin/ldirectord") {
			t.Errorf("PREFIX=/usr/local: %s must name /usr/local/sbin/ldirectord only", p)
		}
	}
}
