package conf

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultDirs are where ldirectord looks for a configuration named without
// an absolute path, in order.
func DefaultDirs() []string { return []string{"/etc/ha.d", "/etc/ha.d/conf"} }

// Locate finds the configuration file of "ldirectord [configfile] start" as
// ldirectord does, and gives the configuration name (Config.Name, used for
// the pid file). With arg empty the file is ldirectord.cf and the name
// "ldirectord". An absolute path is used as it is. Any other name is looked
// for in each of dirs (DefaultDirs when nil), then as given, relative to
// the working directory; the name is its base name.
//
// ldirectord also tries /etc/ha.d/ before an absolute path; that finds
// nothing on a sane system and is not copied.
func Locate(arg string, dirs []string) (path, name string, err error) {
	if dirs == nil {
		dirs = DefaultDirs()
	}
	file, name := arg, filepath.Base(arg)
	if arg == "" {
		file, name = "ldirectord.cf", "ldirectord"
	}
	if filepath.IsAbs(file) {
		if !isFile(file) {
			return "", "", fmt.Errorf("configuration file %s not found", file)
		}
		return file, name, nil
	}
	for _, d := range dirs {
		if p := filepath.Join(d, file); isFile(p) {
			return p, name, nil
		}
	}
	if isFile(file) {
		return file, name, nil
	}
	return "", "", fmt.Errorf("configuration file %s not found in %v nor in the working directory", file, dirs)
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
