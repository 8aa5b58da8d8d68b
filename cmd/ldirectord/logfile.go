package main

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// logFile is the daemon's log file. Before each write it checks that its
// path still names the file it holds open, and opens the path again when
// the file was renamed or removed: logrotate then needs neither a signal
// nor copytruncate, as with the Perl ldirectord, which opens the file for
// every line. A stat per line costs little at the rate a daemon logs.
//
// The path is opened as openOwn does, at start and at every reopen: never
// through a symbolic link, and never in a directory that every user may
// write to unless it is sticky; so that nobody can make the daemon, root,
// append to a file of their choosing (the Perl ldirectord can be).
type logFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	info os.FileInfo
	// refused is the last reason the path could not be opened again, said
	// once in the file held open.
	refused string
}

func openLogFile(path string) (*logFile, error) {
	l := &logFile{path: path}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	fd, err := openOwn(l.path, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT, 0o644)
	if err != nil {
		return fmt.Errorf("open logfile: %w", err)
	}
	f := os.NewFile(uintptr(fd), l.path)
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open logfile: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.info, l.refused = f, info, ""
	return nil
}

// Write appends p to the file the path names now. Should the path not
// open (its directory gone, a symbolic link put in its place), the line
// goes to the file held open rather than nowhere, after a line that says
// why, once.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, err := os.Lstat(l.path); err != nil || !os.SameFile(st, l.info) {
		if err := l.open(); err != nil && err.Error() != l.refused {
			l.refused = err.Error()
			fmt.Fprintf(l.f, "%s\tERROR\tthe log goes on in the file held open, since its path cannot be opened again\t{\"error\": %q}\n",
				time.Now().Format("2006-01-02T15:04:05.000Z0700"), l.refused)
		}
	}
	return l.f.Write(p)
}

func (l *logFile) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Sync()
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
