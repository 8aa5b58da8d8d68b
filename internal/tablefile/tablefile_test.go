package tablefile

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ldirectord-go/ldirectord/kernel"
	"github.com/ldirectord-go/ldirectord/kernel/kerneltest"
)

func TestConformance(t *testing.T) {
	kerneltest.Conformance(t, func(t *testing.T) kernel.Table {
		ft, err := Open(filepath.Join(t.TempDir(), "ipvs.json"))
		if err != nil {
			t.Fatal(err)
		}
		return ft
	})
}

// A second handle on the file, as another process would have, sees what
// the first wrote and nothing left to change.
func TestFileTableSync(t *testing.T) {
	ft, err := Open(filepath.Join(t.TempDir(), "ipvs.json"))
	if err != nil {
		t.Fatal(err)
	}
	desired := []kernel.Virtual{{Service: svcTCP("10.0.0.1", 80), Destinations: []kernel.Destination{dst("10.0.0.2", 80, kernel.Gate, 1)}}}
	if _, err := kernel.Sync(ft, desired, nil); err != nil {
		t.Fatal(err)
	}
	other, err := Open(ft.Path())
	if err != nil {
		t.Fatal(err)
	}
	if again, err := kernel.Sync(other, desired, nil); err != nil || len(again) != 0 {
		t.Errorf("a second handle on the file sees changes %v, %v", again, err)
	}
}

const helperEnv = "TABLEFILE_HELPER"

var shared = svcTCP("10.0.0.1", 80)

// writeMany is what each writer does, in a helper process or in the test:
// create the shared service unless another did, then add n destinations of
// its own, reading the table between writes.
func writeMany(ft *Table, id, n int) (created bool, err error) {
	switch err := ft.AddService(shared); {
	case err == nil:
		created = true
	case !errors.Is(err, kernel.ErrExist):
		return false, err
	}
	for i := range n {
		d := dst(fmt.Sprintf("10.%d.%d.%d", 100+id, i/250, i%250+1), 80, kernel.Masq, 1)
		if err := ft.AddDestination(shared, d); err != nil {
			return created, err
		}
		if _, err := ft.List(); err != nil {
			return created, err
		}
	}
	return created, nil
}

// TestFileTableHelperProcess is not a test: it is the other process of
// TestFileTableProcesses, started from the test binary.
func TestFileTableHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		return
	}
	path, idText, _ := strings.Cut(spec, ",")
	id, _ := strconv.Atoi(idText)
	ft, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	created, err := writeMany(ft, id, 40)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Printf("created=%v\n", created)
	os.Exit(0)
}

// TestFileTableProcesses shares one table file between this process and
// three others, all writing at once: no write is lost, exactly one of them
// creates the service, and a reader never sees a broken file.
func TestFileTableProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipvs.json")
	ft, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const helpers = 3
	var outs [helpers]bytes.Buffer
	var cmds []*exec.Cmd
	for i := range helpers {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileTableHelperProcess$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", helperEnv, path, i+1))
		cmd.Stdout = &outs[i]
		cmd.Stderr = &outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	var wg sync.WaitGroup
	var created bool
	var werr error
	wg.Go(func() { created, werr = writeMany(ft, 0, 40) })
	stop, done := make(chan struct{}), make(chan struct{})
	var readErr error
	var reads int
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ft.List(); err != nil {
				readErr = err
				return
			}
			reads++
		}
	}()
	wg.Wait()
	if werr != nil {
		t.Fatalf("writer in the test: %v", werr)
	}
	creators := 0
	if created {
		creators++
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v: %s", i+1, err, outs[i].String())
		}
		if strings.Contains(outs[i].String(), "created=true") {
			creators++
		}
	}
	close(stop)
	<-done
	if readErr != nil {
		t.Fatalf("a reader saw a broken table: %v", readErr)
	}
	if creators != 1 {
		t.Errorf("%d processes created the service, want exactly 1", creators)
	}
	got, err := ft.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Destinations) != (helpers+1)*40 {
		n := 0
		if len(got) > 0 {
			n = len(got[0].Destinations)
		}
		t.Errorf("%d services, %d destinations; want 1 service with %d destinations", len(got), n, (helpers+1)*40)
	}
	t.Logf("%d reads during the writes", reads)
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.json")
	if _, err := Open(path); err != nil {
		t.Fatalf("Open of a missing file: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), `"virtuals"`) {
		t.Fatalf("Open did not create an empty table: %q, %v", data, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("ipvsadm output, not JSON"), 0o644)
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "not an IPVS table") {
		t.Errorf("Open of garbage: %v, want an error that says it is not a table", err)
	}
	dup := filepath.Join(dir, "dup.json")
	os.WriteFile(dup, []byte(`{"virtuals":[{"Service":{"Protocol":"tcp","Addr":"10.0.0.1","Port":80,"Scheduler":"wrr"}},
		{"Service":{"Protocol":"tcp","Addr":"10.0.0.1","Port":80,"Scheduler":"rr"}}]}`), 0o644)
	if _, err := Open(dup); !errors.Is(err, kernel.ErrExist) {
		t.Errorf("Open of a table with a service twice: %v, want ErrExist", err)
	}
	if _, err := Open(filepath.Join(dir, "no", "such", "dir.json")); err == nil {
		t.Error("Open in a missing directory: no error")
	}
}

// A Sync on a Table rewrites the file once, however many changes it
// makes, so a reader never sees it half done; single changes keep their
// rules and errors inside the batch.
func TestFileTableBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.json")
	ft, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	inode := func() uint64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	desired := []kernel.Virtual{{Service: svcTCP("10.0.0.1", 80)}}
	for i := 0; i < 200; i++ {
		desired[0].Destinations = append(desired[0].Destinations, dst(fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), 80, kernel.Masq, 1))
	}
	before := inode()
	reader, _ := Open(path)
	stop, partial := make(chan struct{}), make(chan int, 1)
	go func() {
		defer close(partial)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if got, err := reader.List(); err == nil && len(got) == 1 && len(got[0].Destinations) < 200 {
				partial <- len(got[0].Destinations)
				return
			}
		}
	}()
	changes, err := kernel.Sync(ft, desired, nil)
	close(stop)
	if n, ok := <-partial; ok {
		t.Errorf("a reader saw the Sync half done: %d of 200 destinations", n)
	}
	if err != nil || len(changes) != 201 {
		t.Fatalf("Sync: %d changes, %v; want 201 and no error", len(changes), err)
	}
	after := inode()
	if after == before {
		t.Fatal("the file was not rewritten")
	}
	got, err := ft.List()
	if err != nil || len(got) != 1 || len(got[0].Destinations) != 200 {
		t.Fatalf("after Sync the file holds %+v, %v", got, err)
	}
	if _, err := kernel.Sync(ft, desired, nil); err != nil || inode() != after {
		t.Errorf("a Sync with nothing to change rewrote the file (or failed: %v)", err)
	}
	// One change refused inside a batch: the others stay, the error is told.
	err = ft.Batch(func(tb kernel.Table) error {
		if err := tb.AddDestination(desired[0].Service, dst("10.9.9.9", 80, kernel.Masq, 1)); err != nil {
			return err
		}
		return tb.AddService(desired[0].Service)
	})
	if !errors.Is(err, kernel.ErrExist) {
		t.Errorf("Batch with a duplicate service: %v, want ErrExist", err)
	}
	got, _ = ft.List()
	if len(got[0].Destinations) != 201 {
		t.Errorf("the change before the refused one was lost: %d destinations, want 201", len(got[0].Destinations))
	}
}

// TestFileTableKeptCopyYieldsToOthers interleaves two Tables on one
// file, as two processes would: each keeps the table it last wrote, and
// must not use it once the other has written, or the other's change is
// lost.
func TestFileTableKeptCopyYieldsToOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipvs.json")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	svc := svcTCP("10.0.0.1", 80)
	if err := a.AddService(svc); err != nil {
		t.Fatal(err)
	}
	var want []kernel.Destination
	for i, tb := range []*Table{a, b, a, a, b, b, a} {
		d := dst(fmt.Sprintf("10.1.0.%d", i+1), 80, kernel.Masq, 1)
		if err := tb.AddDestination(svc, d); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
		want = append(want, d)
	}
	mustHold(t, b, kernel.Virtual{Service: svc, Destinations: want})
	if err := a.Batch(func(tb kernel.Table) error { return tb.DelDestination(svc, want[1]) }); err != nil {
		t.Fatal(err)
	}
	mustHold(t, b, kernel.Virtual{Service: svc, Destinations: append(want[:1:1], want[2:]...)})
}

// mustHold fails unless tb holds exactly v, as the kernel would list it.
func mustHold(t *testing.T, tb kernel.Table, v kernel.Virtual) {
	t.Helper()
	m, err := kernel.NewMemoryOf([]kernel.Virtual{v})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.List()
	if got, err := tb.List(); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("table:\n%v (%v)\nwant:\n%v", got, err, want)
	}
}

func svcTCP(addr string, port uint16) kernel.Service {
	return kernel.Service{Protocol: "tcp", Addr: netip.MustParseAddr(addr), Port: port, Scheduler: "wrr"}
}

func dst(addr string, port uint16, m kernel.Forward, w int) kernel.Destination {
	return kernel.Destination{Addr: netip.MustParseAddr(addr), Port: port, Method: m, Weight: w}
}
