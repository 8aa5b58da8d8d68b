package main

import (
	"fmt"
	"os"
	"sync"
)

// logFile is the daemon's log file. Before each write it checks that its
// path still names the file it holds open, and opens the path again when
// the file was renamed or removed: logrotate then needs neither a signal
// nor copytruncate, as with the Perl ldirectord, which opens the file for
// every line. A stat per line costs little at the rate a daemon logs.
type logFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	info os.FileInfo
}

func openLogFile(path string) (*logFile, error) {
	l := &logFile{path: path}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open logfile: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open logfile: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.info = f, info
	return nil
}

// Write appends p to the file the path names now. Should the path not
// open (its directory gone), the line goes to the file held open rather
// than nowhere.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, err := os.Stat(l.path); err != nil || !os.SameFile(st, l.info) {
		_ = l.open()
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
