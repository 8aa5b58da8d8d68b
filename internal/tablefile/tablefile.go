package kernel

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
)

// FileTable is a Table kept in a JSON file, so that several processes share
// it: the daemon under test, the test that reads it, and a fake ipvsadm.
// Each operation takes an flock on a lock file beside it (path + ".lock";
// the table file itself is replaced by rename, so it cannot carry the
// lock), reads the table, changes it and writes it back atomically. The
// rules and errors are those of Memory.
//
// As the file is only ever replaced whole, List reads it without the lock.
// A change finds the file as this FileTable last wrote it (same inode, size
// and modification time) most of the time, and then uses the table it
// wrote instead of parsing it again: at 10,000 destinations the parse is
// most of a write's cost, which the kernel's netlink does not have.
type FileTable struct {
	path string

	mu     sync.Mutex
	last   *state // as written to the file identified by lastID; nil: none
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

var _ Table = (*FileTable)(nil)

// fileFormat is what the file holds.
type fileFormat struct {
	Virtuals []Virtual `json:"virtuals"`
}

// OpenFile opens the table kept at path, creating an empty one when the
// file is missing. A file that is there must hold a table.
func OpenFile(path string) (*FileTable, error) {
	t := &FileTable{path: path}
	err := t.locked(syscall.LOCK_EX, func() error {
		_, err := t.read()
		if errors.Is(err, fs.ErrNotExist) {
			return t.write(newState())
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open IPVS table file: %w", err)
	}
	return t, nil
}

// Path returns the file that holds the table.
func (t *FileTable) Path() string { return t.path }

// locked runs fn under an flock of the given kind. A new descriptor per call
// makes goroutines of one process exclude each other too.
func (t *FileTable) locked(how int, fn func() error) error {
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

func (t *FileTable) read() (*state, error) {
	data, err := os.ReadFile(t.path)
	if err != nil {
		return nil, err
	}
	var ff fileFormat
	if err := json.Unmarshal(data, &ff); err != nil {
		return nil, fmt.Errorf("%s: not an IPVS table: %w", t.path, err)
	}
	st, err := fromVirtuals(ff.Virtuals)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	return st, nil
}

// readForChange is read for a change made under the exclusive lock: the
// table this FileTable last wrote when the file is still that one. The
// caller owns the state it gets and must write it back (writeKept) or
// drop it.
func (t *FileTable) readForChange() (*state, error) {
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

// writeKept writes st and keeps it as the table of the new file.
func (t *FileTable) writeKept(st *state) error {
	id, err := t.writeID(st)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.last, t.lastID = st, id
	t.mu.Unlock()
	return nil
}

// write replaces the file by rename, so that a reader never sees half a
// table.
func (t *FileTable) write(st *state) error {
	_, err := t.writeID(st)
	return err
}

// writeID is write that also returns the new file's identity.
func (t *FileTable) writeID(st *state) (fileID, error) {
	tmp, err := os.CreateTemp(filepath.Dir(t.path), filepath.Base(t.path)+".tmp*")
	if err != nil {
		return fileID{}, err
	}
	// An Encoder writes from its pooled buffer: json.Marshal would copy
	// the encoding (1 MB at 10,000 destinations) into new garbage at
	// every write.
	bw := bufio.NewWriterSize(tmp, 64<<10)
	err = json.NewEncoder(bw).Encode(fileFormat{Virtuals: st.list()})
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

// List reads the table, in the order Memory lists it. It takes no lock:
// the file is only ever replaced whole.
func (t *FileTable) List() ([]Virtual, error) {
	st, err := t.read()
	if err != nil {
		return nil, err
	}
	return st.list(), nil
}

func (t *FileTable) change(c Change) error {
	return t.locked(syscall.LOCK_EX, func() error {
		st, err := t.readForChange()
		if err != nil {
			return err
		}
		if err := st.apply(c); err != nil {
			return err
		}
		return t.writeKept(st)
	})
}

// AddService adds a service; ErrExist if it is there.
func (t *FileTable) AddService(s Service) error {
	return t.change(Change{Op: OpAddService, Service: s})
}

// UpdateService changes a service's settings; ErrNotExist if it is not there.
func (t *FileTable) UpdateService(s Service) error {
	return t.change(Change{Op: OpEditService, Service: s})
}

// DelService deletes a service and its destinations; ErrNotExist if it is
// not there.
func (t *FileTable) DelService(s Service) error {
	return t.change(Change{Op: OpDelService, Service: s})
}

// AddDestination adds a destination; ErrExist if it is there, ErrNotExist
// if the service is not.
func (t *FileTable) AddDestination(s Service, d Destination) error {
	return t.change(Change{Op: OpAddDest, Service: s, Destination: d})
}

// UpdateDestination changes a destination; ErrNotExist if it or its
// service is not there.
func (t *FileTable) UpdateDestination(s Service, d Destination) error {
	return t.change(Change{Op: OpEditDest, Service: s, Destination: d})
}

// DelDestination deletes a destination; ErrNotExist if it or its service is
// not there.
func (t *FileTable) DelDestination(s Service, d Destination) error {
	return t.change(Change{Op: OpDelDest, Service: s, Destination: d})
}

// Batch runs fn on the table under one lock, one read and one write, with
// the rules and errors of every other operation. A rewrite of the whole
// file per change costs O(table) each, where the kernel's netlink costs
// O(1): Apply batches through this so that the stand-in does not make a
// large Sync quadratic. The file changes only if fn changed something.
func (t *FileTable) Batch(fn func(Table) error) error {
	return t.locked(syscall.LOCK_EX, func() error {
		st, err := t.readForChange()
		if err != nil {
			return err
		}
		m := &Memory{st: st}
		err = fn(m)
		if m.Writes() == 0 {
			return err
		}
		return errors.Join(err, t.writeKept(st))
	})
}
