package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ldirectord-go/ldirectord/plan"
)

// statusFilePath is where the daemon of pidFile keeps its real servers'
// states: beside the pid file, which only the daemon writes as well.
func statusFilePath(pidFile string) string {
	return strings.TrimSuffix(pidFile, ".pid") + ".status"
}

// formatStatus is one line per real and fallback server (virtual, kind,
// address, state) and per virtual whose table failopen holds, sorted.
func formatStatus(reports []*plan.Report) string {
	var lines []string
	for _, r := range reports {
		for vid, reals := range r.Health {
			for rid, st := range reals {
				lines = append(lines, fmt.Sprintf("%s real %s %s", vid, rid, st))
			}
		}
		for vid, fb := range r.Fallbacks {
			lines = append(lines, fmt.Sprintf("%s fallback %s %s (not in the table's decisions)", vid, fb.Fallback, fb.Status))
		}
		for vid, h := range r.FailOpen {
			lines = append(lines, fmt.Sprintf("%s fail-open since %s: %d real servers failed together; the table is held as it was",
				vid, h.Since.Format(time.DateTime), h.Failed))
		}
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// writeStatusFile replaces path with text at once, so that a reader never
// sees half of it.
func writeStatusFile(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write status file: %w", err)
	}
	_, err = tmp.WriteString(text)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write status file %s: %w", path, err)
	}
	return nil
}

// keepStatusFile writes the states of the real servers to path at start
// and whenever the daemon says they changed, until stop is closed; then it
// removes the file.
func keepStatusFile(log *zap.Logger, path string, status func() ([]*plan.Report, error), changed <-chan struct{}, stop <-chan struct{}) {
	defer os.Remove(path)
	last, warned := "\x00", false
	for {
		if reports, err := status(); err == nil {
			if text := formatStatus(reports); text != last {
				err := writeStatusFile(path, text)
				if err == nil {
					last, warned = text, false
				} else if !warned {
					log.Warn("the status command will not show the real servers", zap.Error(err))
					warned = true
				}
			}
		}
		select {
		case <-stop:
			return
		case <-changed:
		}
	}
}
