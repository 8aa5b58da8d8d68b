package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
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
		if msg := notFile(file); msg != "" {
			return "", "", fmt.Errorf("configuration file %s %s", file, msg)
		}
		return file, name, nil
	}
	// The first regular file wins; should there be none, the first thing
	// of another kind found is named for what it is.
	var other error
	for _, p := range append(joinAll(dirs, file), file) {
		switch msg := notFile(p); msg {
		case "":
			return p, name, nil
		case notFound:
		default:
			if other == nil {
				other = fmt.Errorf("configuration file %s %s", p, msg)
			}
		}
	}
	if other != nil {
		return "", "", other
	}
	return "", "", fmt.Errorf("configuration file %s not found in %v nor in the working directory", file, dirs)
}

func joinAll(dirs []string, file string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = filepath.Join(d, file)
	}
	return out
}

const notFound = "not found"

// notFile says why p is not a configuration file ("" when it is one): not
// found, or what it is instead.
func notFile(p string) string {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(p); lerr == nil {
			return "is a symbolic link to nothing"
		}
		return notFound
	case errors.Is(err, syscall.ELOOP):
		return "is a loop of symbolic links"
	case err != nil:
		return fmt.Sprintf("cannot be read: %v", err)
	case st.Mode().IsRegular():
		return ""
	}
	return "is " + describeMode(st.Mode()) + ", not a configuration file"
}

// describeMode names a kind of file that is not a regular one.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}
