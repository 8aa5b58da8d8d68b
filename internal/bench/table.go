package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/ldirectord-go/ldirectord/internal/tablefile"
)

// TableFile follows an IPVS table kept in a file by tablefile.Table,
// reading it again only when it was replaced, which every change does.
type TableFile struct {
	path string
	tab  *tablefile.Table
	seen fileID
	// Reals maps each destination in the table to its weight.
	Reals map[netip.AddrPort]int
	// Changed is when the table was last written, from the file's
	// modification time: a finer clock than the polling.
	Changed time.Time
}

// fileID tells versions of the file apart: an inode number alone may come
// back, as the writer renames a new file over the old one each time.
type fileID struct {
	ino   uint64
	mtime int64
	size  int64
}

// OpenTableFile follows the table at path, which need not exist yet.
func OpenTableFile(path string) *TableFile {
	return &TableFile{path: path, Reals: map[netip.AddrPort]int{}}
}

// Poll reads the table if it changed since the last Poll and reports
// whether it did.
func (t *TableFile) Poll() (bool, error) {
	fi, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("IPVS table file: %w", err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	id := fileID{st.Ino, st.Mtim.Nano(), st.Size}
	if id == t.seen {
		return false, nil
	}
	if t.tab == nil {
		if t.tab, err = tablefile.Open(t.path); err != nil {
			return false, err
		}
	}
	vs, err := t.tab.List()
	if err != nil {
		return false, err
	}
	reals := make(map[netip.AddrPort]int, len(t.Reals))
	for _, v := range vs {
		for _, d := range v.Destinations {
			reals[netip.AddrPortFrom(d.Addr, d.Port)] = d.Weight
		}
	}
	// The identity read before List: a change in between is seen next
	// time.
	t.seen, t.Reals, t.Changed = id, reals, time.Unix(0, id.mtime)
	return true, nil
}

// Serving reports whether addr is in the table with a weight above 0.
func (t *TableFile) Serving(addr netip.AddrPort) bool {
	return t.Reals[addr] > 0
}
