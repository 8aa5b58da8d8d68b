// Package tablefile owns the stand-in for the kernel's IPVS table: a table
// kept in a JSON file, with the kernel's rules and errors, that processes
// share. The daemon keeps its table there under LDIRECTORD_TABLE=file:PATH,
// so that its checks, fallback, quiescent and reload behaviour can be
// watched where there is no IPVS; the stand-in ipvsadm, the benchmarks and
// the end-to-end tests read and write the same file. No packet is
// forwarded.
package tablefile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/ldirectord-go/ldirectord/kernel"
)

// Table is a kernel.Table kept in a JSON file, so that several processes
// share it: the daemon under test, the test that reads it, and a fake
// ipvsadm. Each operation takes an flock on a lock file beside it (path +
// ".lock"; the table file itself is replaced by rename, so it cannot carry
// the lock), reads the table, changes it and writes it back atomically. The
// rules and errors are those of kernel.Memory, which holds the table
// between reading and writing.
//
// As the file is only ever replaced whole, List reads it without the lock.
// A change finds the file as this Table last wrote it (same inode, size
// and modification time) most of the time, and then uses the table it
// wrote instead of parsing it again: at 10,000 destinations the parse is
// most of a write's cost, which the kernel's netlink does not have.
type Table struct {
	path string

	mu     sync.Mutex
	last   *kernel.Memory // as written to the file identified by lastID; nil: none
	lastID fileID
}

// fileID tells one version of the file from another: every write is a new
// file renamed into place.
type fileID struct {
	ino   uint64
	mtime int64
	size  int64
}

func statID(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{ino: st.Ino, mtime: st.Mtim.Nano(), size: st.Size}, true
}

var _ kernel.Table = (*Table)(nil)

// kernel.Apply batches through this method when a table has it; without
// it every Sync would rewrite the file once per change.
var _ interface {
	Batch(func(kernel.Table) error) error
} = (*Table)(nil)

// fileFormat is what the file holds.
type fileFormat struct {
	Virtuals []kernel.Virtual `json:"virtuals"`
}

// Open opens the table kept at path, creating an empty one when the file
// is missing. A file that is there must hold a table.
func Open(path string) (*Table, error) {
	t := &Table{path: path}
	err := t.locked(syscall.LOCK_EX, func() error {
		_, err := t.read()
		if errors.Is(err, fs.ErrNotExist) {
			return t.write(kernel.NewMemory())
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open IPVS table file: %w", err)
	}
	return t, nil
}

// Path returns the file that holds the table.
func (t *Table) Path() string { return t.path }

// locked runs fn under an flock of the given kind. A new descriptor per call
// makes goroutines of one process exclude each other too.
func (t *Table) locked(how int, fn func() error) error {
	f, err := os.OpenFile(t.path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	// Closing the descriptor releases the lock.
	return fn()
}

func (t *Table) read() (*kernel.Memory, error) {
	data, err := os.ReadFile(t.path)
	if err != nil {
		return nil, err
	}
	var ff fileFormat
	if err := json.Unmarshal(data, &ff); err != nil {
		return nil, fmt.Errorf("%s: not an IPVS table: %w", t.path, err)
	}
	m, err := kernel.NewMemoryOf(ff.Virtuals)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	return m, nil
}

// readForChange is read for a change made under the exclusive lock: the
// table this Table last wrote when the file is still that one. The
// caller owns the table it gets and must write it back (writeKept) or
// drop it.
func (t *Table) readForChange() (*kernel.Memory, error) {
	t.mu.Lock()
	last, lastID := t.last, t.lastID
	t.last = nil
	t.mu.Unlock()
	if last != nil {
		if fi, err := os.Stat(t.path); err == nil {
			if id, ok := statID(fi); ok && id == lastID {
				return last, nil
			}
		}
	}
	return t.read()
}

// writeKept writes m and keeps it as the table of the new file.
func (t *Table) writeKept(m *kernel.Memory) error {
	id, err := t.writeID(m)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.last, t.lastID = m, id
	t.mu.Unlock()
	return nil
}

// write replaces the file by rename, so that a reader never sees half a
// table.
func (t *Table) write(m *kernel.Memory) error {
	_, err := t.writeID(m)
	return err
}

// writeID is write that also returns the new file's identity.
func (t *Table) writeID(m *kernel.Memory) (fileID, error) {
	vs, err := m.List()
	if err != nil {
		return fileID{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(t.path), filepath.Base(t.path)+".tmp*")
	if err != nil {
		return fileID{}, err
	}
	// An Encoder writes from its pooled buffer: json.Marshal would copy
	// the encoding (1 MB at 10,000 destinations) into new garbage at
	// every write.
	bw := bufio.NewWriterSize(tmp, 64<<10)
	err = json.NewEncoder(bw).Encode(fileFormat{Virtuals: vs})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), t.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fileID{}, fmt.Errorf("write %s: %w", t.path, err)
	}
	// Under the exclusive lock no other writer can have replaced it yet.
	fi, err := os.Stat(t.path)
	if err != nil {
		return fileID{}, nil // written; only the kept copy is lost
	}
	id, _ := statID(fi)
	return id, nil
}

// List reads the table, in the order kernel.Memory lists it. It takes no
// lock: the file is only ever replaced whole.
func (t *Table) List() ([]kernel.Virtual, error) {
	m, err := t.read()
	if err != nil {
		return nil, err
	}
	return m.List()
}

// AddService adds a service; kernel.ErrExist if it is there.
func (t *Table) AddService(s kernel.Service) error {
	return t.Batch(func(tb kernel.Table) error { return tb.AddService(s) })
}

// UpdateService changes a service's settings; kernel.ErrNotExist if it is
// not there.
func (t *Table) UpdateService(s kernel.Service) error {
	return t.Batch(func(tb kernel.Table) error { return tb.UpdateService(s) })
}

// DelService deletes a service and its destinations; kernel.ErrNotExist if
// it is not there.
func (t *Table) DelService(s kernel.Service) error {
	return t.Batch(func(tb kernel.Table) error { return tb.DelService(s) })
}

// AddDestination adds a destination; kernel.ErrExist if it is there,
// kernel.ErrNotExist if the service is not.
func (t *Table) AddDestination(s kernel.Service, d kernel.Destination) error {
	return t.Batch(func(tb kernel.Table) error { return tb.AddDestination(s, d) })
}

// UpdateDestination changes a destination; kernel.ErrNotExist if it or its
// service is not there.
func (t *Table) UpdateDestination(s kernel.Service, d kernel.Destination) error {
	return t.Batch(func(tb kernel.Table) error { return tb.UpdateDestination(s, d) })
}

// DelDestination deletes a destination; kernel.ErrNotExist if it or its
// service is not there.
func (t *Table) DelDestination(s kernel.Service, d kernel.Destination) error {
	return t.Batch(func(tb kernel.Table) error { return tb.DelDestination(s, d) })
}

// Batch runs fn on the table under one lock, one read and one write, with
// the rules and errors of every other operation. A rewrite of the whole
// file per change costs O(table) each, where the kernel's netlink costs
// O(1): kernel.Apply batches through this so that the stand-in does not
// make a large Sync quadratic. The file changes only if fn changed
// something.
func (t *Table) Batch(fn func(kernel.Table) error) error {
	return t.locked(syscall.LOCK_EX, func() error {
		m, err := t.readForChange()
		if err != nil {
			return err
		}
		before := m.Writes()
		err = fn(m)
		if m.Writes() == before {
			return err
		}
		return errors.Join(err, t.writeKept(m))
	})
}
