package vm

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// archive collects the guest's files and writes them as one uncompressed
// cpio "newc" archive, the format the kernel unpacks as its initramfs.
// Writing it here, rather than with cpio(1), keeps every path, mode and
// device node under our control.
type archive struct {
	dirs    map[string]bool
	entries map[string]entry // guest path -> content
}

type entry struct {
	mode    uint32 // full st_mode, type included
	host    string // host file to copy, or
	data    []byte // literal content (or symlink target)
	devMaj  uint32
	devMin  uint32
	symlink bool
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeLink = 0o120000
	modeChr  = 0o020000
)

func newArchive() *archive {
	return &archive{dirs: map[string]bool{}, entries: map[string]entry{}}
}

func (a *archive) mkdirAll(p string) {
	p = path.Clean("/" + p)
	for p != "/" && !a.dirs[p] {
		a.dirs[p] = true
		p = path.Dir(p)
	}
}

func (a *archive) put(guest string, e entry) {
	guest = path.Clean("/" + guest)
	a.mkdirAll(path.Dir(guest))
	a.entries[guest] = e
}

// addHostFile copies a host file (following symlinks) to guest, keeping its
// permission bits.
func (a *archive) addHostFile(guest, host string) error {
	st, err := os.Stat(host)
	if err != nil {
		return fmt.Errorf("vm: file for the guest's %s: %w", guest, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("vm: %s for the guest's %s is not a regular file", host, guest)
	}
	a.put(guest, entry{mode: modeFile | uint32(st.Mode().Perm()), host: host})
	return nil
}

func (a *archive) addData(guest string, perm uint32, data []byte) {
	a.put(guest, entry{mode: modeFile | perm, data: data})
}

func (a *archive) addSymlink(guest, target string) {
	a.put(guest, entry{mode: modeLink | 0o777, data: []byte(target), symlink: true})
}

func (a *archive) addCharDev(guest string, major, minor uint32) {
	a.put(guest, entry{mode: modeChr | 0o600, devMaj: major, devMin: minor})
}

// writeTo writes the archive: directories first (parents before children),
// then the files, then the trailer.
func (a *archive) writeTo(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	ino := uint32(1)
	dirs := make([]string, 0, len(a.dirs))
	for d := range a.dirs {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool {
		ci, cj := strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")
		if ci != cj {
			return ci < cj
		}
		return dirs[i] < dirs[j]
	})
	for _, d := range dirs {
		if err := writeRecord(bw, ino, d, modeDir|0o755, 0, 0, nil); err != nil {
			return err
		}
		ino++
	}
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := a.entries[n]
		data := e.data
		if e.host != "" {
			var err error
			if data, err = os.ReadFile(e.host); err != nil {
				return fmt.Errorf("vm: reading %s for the initramfs: %w", e.host, err)
			}
		}
		if err := writeRecord(bw, ino, n, e.mode, e.devMaj, e.devMin, data); err != nil {
			return err
		}
		ino++
	}
	if err := writeRecord(bw, 0, "TRAILER!!!", 0, 0, 0, nil); err != nil {
		return err
	}
	return bw.Flush()
}

func writeRecord(w *bufio.Writer, ino uint32, name string, mode, rmaj, rmin uint32, data []byte) error {
	name = strings.TrimPrefix(name, "/")
	nlink := 1
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmaj, rmin, len(name)+1, 0)
	if _, err := w.WriteString(hdr); err != nil {
		return err
	}
	w.WriteString(name)
	w.WriteByte(0)
	pad(w, len(hdr)+len(name)+1)
	w.Write(data)
	_, err := w.Write(make([]byte, (4-len(data)%4)%4))
	return err
}

func pad(w *bufio.Writer, n int) {
	w.Write(make([]byte, (4-n%4)%4))
}
