package conf

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLocate follows ldirectord's search: an absolute path as is, else the
// directories in order, else the working directory.
func TestLocate(t *testing.T) {
	root := t.TempDir()
	ha, conf := filepath.Join(root, "ha.d"), filepath.Join(root, "ha.d", "conf")
	for _, d := range []string{ha, conf} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(ha, "ldirectord.cf"))
	write(filepath.Join(conf, "web.cf"))
	write(filepath.Join(ha, "both.cf"))
	write(filepath.Join(conf, "both.cf"))
	abs := filepath.Join(root, "elsewhere.cf")
	write(abs)
	dirs := []string{ha, conf}

	t.Chdir(root)
	write(filepath.Join(root, "local.cf"))

	cases := []struct{ arg, path, name string }{
		{"", filepath.Join(ha, "ldirectord.cf"), "ldirectord"},
		{"ldirectord.cf", filepath.Join(ha, "ldirectord.cf"), "ldirectord.cf"},
		{"web.cf", filepath.Join(conf, "web.cf"), "web.cf"},
		{"both.cf", filepath.Join(ha, "both.cf"), "both.cf"},
		{abs, abs, "elsewhere.cf"},
		{"local.cf", "local.cf", "local.cf"},
	}
	for _, tc := range cases {
		path, name, err := Locate(tc.arg, dirs)
		if err != nil || path != tc.path || name != tc.name {
			t.Errorf("Locate(%q) = %q, %q, %v; want %q, %q", tc.arg, path, name, err, tc.path, tc.name)
		}
	}
	for _, arg := range []string{"missing.cf", filepath.Join(root, "missing.cf"), "ha.d"} {
		if _, _, err := Locate(arg, dirs); err == nil {
			t.Errorf("Locate(%q) found something", arg)
		}
	}
	if got := DefaultDirs(); len(got) != 2 || got[0] != "/etc/ha.d" || got[1] != "/etc/ha.d/conf" {
		t.Errorf("DefaultDirs() = %v", got)
	}
}
