package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// openOwn opens path, one of the daemon's own files (its log file, its pid
// files), so that no other user can make the daemon, which runs as root,
// write elsewhere:
//   - a symbolic link at path is refused, never followed (O_NOFOLLOW), at
//     start and at every reopen after a rotation;
//   - only a regular file is taken: a FIFO or a device is refused, without
//     waiting on it (O_NONBLOCK);
//   - a directory every user may write to is refused unless it is sticky
//     (as /tmp is), where another user could swap the file between two
//     opens; in a sticky one the file must be the daemon user's own, with
//     one link, so that a file or hard link planted there is refused.
//
// It returns the raw descriptor, close-on-exec.
func openOwn(path string, flag int, perm uint32) (int, error) {
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return -1, err
	}
	shared := dir.Mode().Perm()&0o002 != 0
	if shared && dir.Mode()&os.ModeSticky == 0 {
		return -1, fmt.Errorf("%s: its directory %s is writable by every user and not sticky, so anyone could put a file or link of their choosing there: use a directory only root may write to", path, filepath.Dir(path))
	}
	fd, err := syscall.Open(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, perm)
	if errors.Is(err, syscall.ELOOP) {
		return -1, fmt.Errorf("%s is a symbolic link: refused, the daemon writes only to a file named directly", path)
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		err = fmt.Errorf("%s is not a regular file: refused", path)
	case shared && (st.Uid != uint32(os.Geteuid()) || st.Nlink != 1):
		err = fmt.Errorf("%s, in the directory %s that every user may write to, belongs to uid %d or has other links (%d): refused, another user may have put it there", path, filepath.Dir(path), st.Uid, st.Nlink)
	}
	if err == nil {
		err = syscall.SetNonblock(fd, false)
	}
	if err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}
