// Package vm boots a small qemu (TCG) virtual machine with a Debian kernel
// that has IPVS, puts the given programs into its initramfs, runs one
// command there and hands back its output and exit status. The host kernel
// has no IPVS; real-kernel tests, the daemon's end-to-end tests and the
// demo run through this package. It owns the kernel cache, the initramfs
// layout and the guest's init. With Options.HostRoot the guest instead
// boots Debian's standard kernel and runs the command on the host's / shared
// over 9p, so that host-installed programs (keepalived, the Perl
// ldirectord) run there unchanged.
//
// Run is the Go entry point. For go test's -exec flag, cmd/vmexec (or the
// vmexec.sh wrapper beside this file) runs a package's CGO_ENABLED=0 test
// binary in the VM and passes its exit status back.
package vm

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options say what to put into the guest and what to run there.
type Options struct {
	// Binaries are host paths of statically linked programs (for example a
	// CGO_ENABLED=0 `go test -c` binary); each lands in the guest's /bin
	// under its base name.
	Binaries []string
	// Files maps a guest path to a host file copied there, mode kept.
	Files map[string]string
	// Command is run in the guest: a guest path or a name in PATH.
	Command string
	Args    []string
	// Env adds KEY=VALUE pairs to the command's environment.
	Env []string
	// Dir is the command's working directory in the guest; "/" if empty.
	Dir string
	// Modules are kernel modules loaded besides DefaultModules.
	Modules []string
	// Timeout bounds the whole VM run; 10 minutes if zero.
	Timeout time.Duration
	// MemoryMB is the guest's memory; 512 if zero.
	MemoryMB int
	// CPUs is the number of virtual CPUs; 1 if zero. Under TCG each is a
	// host thread.
	CPUs int
	// Console, when set, receives the raw console as it is printed.
	Console io.Writer
	// HostRoot boots Debian's standard kernel (which has 9p) instead of the
	// cloud one, shares the host's / read-only into the guest over
	// virtio-9p and runs the command chrooted there, on a writable tmpfs
	// overlay with fresh /proc, /sys, /dev, /run and /tmp: host-installed
	// programs (the Perl ldirectord, keepalived) run unchanged. Binaries and
	// Files land in the overlay at the same guest paths. Nothing written in
	// the guest reaches the host.
	HostRoot bool
}

// HostRootModules are loaded besides DefaultModules when Options.HostRoot
// is set: virtio-9p to reach the host's / and overlayfs to write over it.
var HostRootModules = []string{"virtio_pci", "9pnet_virtio", "9p", "overlay"}

// hostRootTag is the 9p mount tag of the host's / in the guest.
const hostRootTag = "hostroot"

// Result is what the command did in the guest.
type Result struct {
	// Output is the command's stdout and stderr, as printed on the console.
	Output string
	// ExitCode is the command's exit status.
	ExitCode int
	// Duration is the whole VM run, qemu start to exit.
	Duration time.Duration
	// Console is everything the guest printed, kernel messages included.
	Console string
}

// GuestEnv is set to "1" in the guest, so that a program can tell that it
// runs in the VM (tests that need the real kernel skip on the host).
const GuestEnv = "LDIRECTORD_IN_VM"

// Markers that the guest's init prints around the command. They are unusual
// enough never to come from the command itself.
const (
	startMarker = "=== ldirectord-vm: command starts ==="
	exitMarker  = "=== ldirectord-vm: exit status "
)

var exitRe = regexp.MustCompile(regexp.QuoteMeta(exitMarker) + `(\d+) ===`)

// Host programs the guest is built from, and the Debian package of each.
var hostPrograms = []struct{ path, pkg string }{
	{"/usr/bin/qemu-system-x86_64", "qemu-system-x86"},
	{"/bin/busybox", "busybox-static"},
	{"/usr/sbin/ipvsadm", "ipvsadm"},
	{"/usr/sbin/ip", "iproute2"},
	{"/usr/bin/apt-get", "apt"},
	{"/usr/bin/dpkg-deb", "dpkg"},
	{"/usr/bin/ldd", "libc-bin"},
}

// CheckHost reports the Debian packages that the harness needs and the host
// lacks, as an error naming them.
func CheckHost() error {
	var missing []string
	for _, p := range hostPrograms {
		if _, err := os.Stat(p.path); err != nil {
			missing = append(missing, p.pkg+" ("+p.path+")")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("vm: missing host packages: %s; install them with apt-get install (make deps)", strings.Join(missing, ", "))
	}
	return nil
}

// Run boots the VM, runs opts.Command in it and returns its result. The error
// is non-nil when the guest could not be built, or when the VM did not come
// up or never reported the command's exit status; it then carries the
// console log. A command that fails is not an error: see Result.ExitCode.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.Command == "" {
		return Result{}, errors.New("vm: Options.Command is empty")
	}
	if err := CheckHost(); err != nil {
		return Result{}, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Minute
	}
	if opts.MemoryMB == 0 {
		opts.MemoryMB = 512
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	flavour := cloudFlavour
	if opts.HostRoot {
		flavour = standardFlavour
	}
	k, err := ensureKernel(ctx, flavour)
	if err != nil {
		return Result{}, err
	}
	work, err := os.MkdirTemp("", "ldirectord-vm-")
	if err != nil {
		return Result{}, fmt.Errorf("vm: work dir: %w", err)
	}
	defer os.RemoveAll(work)
	initrd := filepath.Join(work, "initramfs.cpio")
	if err := buildInitramfs(k, opts, initrd); err != nil {
		return Result{}, err
	}

	args := []string{
		"-accel", "tcg", "-m", strconv.Itoa(opts.MemoryMB), "-smp", strconv.Itoa(max(1, opts.CPUs)),
		"-nographic", "-nodefaults", "-no-user-config", "-no-reboot",
		"-serial", "stdio", "-nic", "none",
		"-kernel", k.image, "-initrd", initrd,
		"-append", "console=ttyS0 quiet loglevel=3 panic=-1",
	}
	if opts.HostRoot {
		// multidevs=remap keeps inode numbers unique across the host's
		// mounts, which the guest would otherwise see as one file system.
		args = append(args, "-virtfs", "local,path=/,mount_tag="+hostRootTag+",security_model=none,readonly=on,multidevs=remap")
	}
	if _, err := os.Stat("/usr/share/qemu/qboot.rom"); err == nil {
		// qboot skips SeaBIOS's device probing: about a second per boot.
		args = append(args, "-bios", "/usr/share/qemu/qboot.rom")
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var console syncBuffer
	var out io.Writer = &console
	if opts.Console != nil {
		out = io.MultiWriter(&console, opts.Console)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	res := Result{Duration: time.Since(start), Console: strings.ReplaceAll(console.String(), "\r\n", "\n")}

	m := exitRe.FindStringSubmatchIndex(res.Console)
	if m == nil {
		why := "the VM exited"
		if ctx.Err() != nil {
			why = fmt.Sprintf("the VM was stopped after %s (%v)", res.Duration.Round(time.Millisecond), ctx.Err())
		} else if runErr != nil {
			why = fmt.Sprintf("qemu failed: %v", runErr)
		}
		if !strings.Contains(res.Console, startMarker) {
			why += "; the guest never started the command (did the VM come up?)"
		}
		return res, fmt.Errorf("vm: %s without reporting the exit status of %s; console log:\n%s", why, opts.Command, tail(res.Console, 16<<10))
	}
	res.ExitCode, _ = strconv.Atoi(res.Console[m[2]:m[3]])
	body := res.Console[:m[0]]
	if i := strings.Index(body, startMarker+"\n"); i >= 0 {
		body = body[i+len(startMarker)+1:]
	}
	res.Output = body
	return res, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// buildInitramfs lays out the guest: busybox, ipvsadm and ip with their
// libraries, the kernel modules, the caller's files and the init script.
func buildInitramfs(k *guestKernel, opts Options, dst string) error {
	a := newArchive()
	for _, d := range []string{"/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/etc", "/var"} {
		a.mkdirAll(d)
	}
	a.addCharDev("/dev/console", 5, 1)
	a.addCharDev("/dev/null", 1, 3)
	a.addSymlink("/var/run", "/run")
	a.addData("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	a.addData("/etc/group", 0o644, []byte("root:x:0:\n"))
	if err := a.addHostFile("/bin/busybox", "/bin/busybox"); err != nil {
		return err
	}
	for _, prog := range []string{"/usr/sbin/ipvsadm", "/usr/sbin/ip"} {
		if err := addDynamic(a, prog); err != nil {
			return err
		}
	}
	want := append(append([]string{}, DefaultModules...), opts.Modules...)
	if opts.HostRoot {
		want = append(want, HostRootModules...)
	}
	mods, err := k.moduleOrder(want)
	if err != nil {
		return err
	}
	// The modules keep their place under /lib/modules/<version>, with a
	// modules.dep, so that the guest's modprobe (which moby/ipvs and the
	// Perl ldirectord call) finds them.
	base := "/lib/modules/" + k.version + "/"
	rel := func(p string) string {
		r, _ := filepath.Rel(k.modDir, p)
		return filepath.ToSlash(r)
	}
	var guestMods []string
	var dep strings.Builder
	for _, m := range mods {
		if err := a.addHostFile(base+rel(m.path), m.path); err != nil {
			return err
		}
		guestMods = append(guestMods, base+rel(m.path))
		dep.WriteString(rel(m.path) + ":")
		for i := len(m.deps) - 1; i >= 0; i-- { // modprobe loads from the end
			dep.WriteString(" " + rel(m.deps[i]))
		}
		dep.WriteString("\n")
	}
	a.addData(base+"modules.dep", 0o644, []byte(dep.String()))
	for _, b := range opts.Binaries {
		if err := checkStatic(b); err != nil {
			return err
		}
		if err := a.addHostFile("/bin/"+filepath.Base(b), b); err != nil {
			return err
		}
	}
	for guest, host := range opts.Files {
		if err := a.addHostFile(guest, host); err != nil {
			return err
		}
	}
	a.addData("/init", 0o755, []byte(initScript(opts, k.version, guestMods)))

	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("vm: creating the initramfs: %w", err)
	}
	if err := a.writeTo(f); err != nil {
		f.Close()
		return fmt.Errorf("vm: writing the initramfs: %w", err)
	}
	return f.Close()
}

// checkStatic refuses dynamically linked binaries early: in the guest they
// would fail with a puzzling "not found".
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("vm: binary %s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("vm: binary %s is dynamically linked; build it with CGO_ENABLED=0", p)
		}
	}
	return nil
}

var lddLib = regexp.MustCompile(`(?m)^\s*(?:\S+ => )?(/\S+) \(0x`)

// addDynamic adds a host program and the shared libraries ldd lists, each at
// the path the dynamic loader looks for.
func addDynamic(a *archive, prog string) error {
	if err := a.addHostFile(prog, prog); err != nil {
		return err
	}
	out, err := exec.Command("ldd", prog).CombinedOutput()
	if err != nil {
		return fmt.Errorf("vm: ldd %s: %w\n%s", prog, err, out)
	}
	for _, m := range lddLib.FindAllStringSubmatch(string(out), -1) {
		if err := a.addHostFile(m[1], m[1]); err != nil {
			return err
		}
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// initScript is the guest's PID 1: it mounts the kernel file systems, loads
// the modules, brings lo up, runs the command between two markers and
// powers off. Everything the host needs comes back over the console.
func initScript(opts Options, version string, modules []string) string {
	var b strings.Builder
	b.WriteString("#!/bin/busybox sh\n")
	b.WriteString("/bin/busybox --install -s /bin\n")
	b.WriteString("export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp " + GuestEnv + "=1\n")
	b.WriteString("mount -t proc proc /proc\nmount -t sysfs sys /sys\nmount -t devtmpfs dev /dev\n")
	b.WriteString("mount -t tmpfs run /run\nmkdir -p /run/netns\n")
	b.WriteString("echo 1 > /proc/sys/kernel/printk\n")
	for _, m := range modules {
		fmt.Fprintf(&b, "insmod %s || echo 'ldirectord-vm: insmod %s failed'\n", m, path.Base(m))
	}
	b.WriteString("ip link set lo up\n")
	if opts.HostRoot {
		hostRootSetup(&b, opts, version)
	}
	for _, e := range opts.Env {
		k, v, _ := strings.Cut(e, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	dir := opts.Dir
	if dir == "" {
		dir = "/"
	}
	command := shellQuote(opts.Command)
	for _, arg := range opts.Args {
		command += " " + shellQuote(arg)
	}
	if opts.HostRoot {
		fmt.Fprintf(&b, "echo %s\n", shellQuote(startMarker))
		// The host's sh runs the command, so that a command name is looked
		// up in the host's PATH.
		fmt.Fprintf(&b, "chroot %s /bin/sh -c %s </dev/null\n", newRoot, shellQuote("cd "+shellQuote(dir)+" && exec "+command))
	} else {
		fmt.Fprintf(&b, "cd %s\n", shellQuote(dir))
		fmt.Fprintf(&b, "echo %s\n", shellQuote(startMarker))
		b.WriteString(command + " </dev/null\n")
	}
	fmt.Fprintf(&b, "echo \"%s$? ===\"\n", exitMarker)
	b.WriteString("poweroff -f\n")
	return b.String()
}

// newRoot is where the guest assembles the host's / for HostRoot.
const newRoot = "/newroot"

// hostRootSetup mounts the host's / (9p, read-only) under a tmpfs overlay
// at newRoot, gives it its own kernel file systems and copies the caller's
// binaries, files and the guest kernel's modules into it. A step that fails
// powers the guest off without an exit status, so Run reports the console.
func hostRootSetup(b *strings.Builder, opts Options, version string) {
	fail := func(what string) string {
		return fmt.Sprintf(" || { echo %s; poweroff -f; }\n", shellQuote("ldirectord-vm: HostRoot: "+what+" failed"))
	}
	b.WriteString("mkdir -p /host /ovl " + newRoot + "\n")
	b.WriteString("mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose " + hostRootTag + " /host" + fail("mounting the host's / over 9p"))
	b.WriteString("mount -t tmpfs ovl /ovl && mkdir -p /ovl/upper /ovl/work" + fail("the overlay's tmpfs"))
	b.WriteString("mount -t overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work overlay " + newRoot + fail("the overlay over the host's /"))
	for _, m := range []struct{ fs, dir, opt string }{
		{"proc", "/proc", ""}, {"sysfs", "/sys", ""}, {"devtmpfs", "/dev", ""},
		{"tmpfs", "/dev/shm", "-o mode=1777 "}, {"tmpfs", "/run", "-o mode=755 "}, {"tmpfs", "/tmp", "-o mode=1777 "},
	} {
		fmt.Fprintf(b, "mkdir -p %[2]s%[3]s && mount -t %[1]s %[4]s%[1]s %[2]s%[3]s"+fail("mounting "+m.dir), m.fs, newRoot, m.dir, m.opt)
	}
	b.WriteString("mkdir -p " + newRoot + "/run/netns " + newRoot + "/run/lock " + newRoot + "/lib/modules\n")
	b.WriteString("cp -a /lib/modules/" + version + " " + newRoot + "/lib/modules/" + fail("copying the kernel modules"))
	// The host's modprobe (which moby/ipvs and the Perl ldirectord call)
	// wants the binary indexes that only depmod writes.
	b.WriteString("[ -x " + newRoot + "/sbin/depmod ] && chroot " + newRoot + " /sbin/depmod " + version + "\n")
	for _, bin := range opts.Binaries {
		g := "/bin/" + filepath.Base(bin)
		b.WriteString("cp " + g + " " + newRoot + g + fail("copying "+g))
	}
	guests := make([]string, 0, len(opts.Files))
	for g := range opts.Files {
		guests = append(guests, g)
	}
	sort.Strings(guests)
	for _, g := range guests {
		g = path.Clean("/" + g)
		b.WriteString("mkdir -p " + shellQuote(newRoot+path.Dir(g)) + " && cp -p " + shellQuote(g) + " " + shellQuote(newRoot+g) + fail("copying "+g))
	}
}
