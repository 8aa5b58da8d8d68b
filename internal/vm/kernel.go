package vm

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
)

// CacheEnv names the environment variable that moves the kernel cache.
const CacheEnv = "LDIRECTORD_VM_CACHE"

// DefaultCache is where the guest kernel is kept between runs.
const DefaultCache = "/var/cache/ldirectord-go-vm"

// Kernel flavours. The cloud flavour is small and boots quickly; it has
// every IPVS module but no 9p. The standard flavour also has 9p (and
// overlayfs), which HostRoot needs to share the host's / with the guest.
const (
	cloudFlavour    = "cloud-amd64"
	standardFlavour = "amd64"
)

// guestKernel is a kernel image and its unpacked modules in the cache.
type guestKernel struct {
	version string // e.g. 6.1.0-56-cloud-amd64
	image   string // vmlinuz path
	modDir  string // lib/modules/<version>
}

func cacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	return DefaultCache
}

// ensureKernel returns the cached kernel of the flavour, downloading and
// unpacking Debian's package the first time. A lock file serialises test
// processes that start at once (go test runs packages in parallel).
func ensureKernel(ctx context.Context, flavour string) (*guestKernel, error) {
	dir := cacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vm: kernel cache %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vm: kernel cache lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("vm: locking the kernel cache %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	// A cached kernel is used as it is: no apt query on the common path.
	if k, err := findCached(dir, flavour); err == nil {
		return k, nil
	}
	pkg, err := pickKernelPackage(ctx, flavour)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, "download-")
	if err != nil {
		return nil, fmt.Errorf("vm: kernel download dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	dl := exec.CommandContext(ctx, "apt-get", "download", "-o", "APT::Sandbox::User=root", pkg)
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vm: apt-get download %s: %w\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("vm: apt-get download %s: expected one .deb, found %d", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vm: dpkg-deb -x %s: %w\n%s", debs[0], err, out)
	}
	version := strings.TrimPrefix(pkg, "linux-image-")
	final := filepath.Join(dir, version)
	os.RemoveAll(final)
	if err := os.Rename(root, final); err != nil {
		return nil, fmt.Errorf("vm: storing the kernel in the cache: %w", err)
	}
	return findCached(dir, flavour)
}

// versionOf matches a kernel version of one flavour: 6.1.0-56-amd64 is of
// the standard flavour, 6.1.0-56-cloud-amd64 is not.
func versionOf(flavour string) *regexp.Regexp {
	return regexp.MustCompile(`[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-` + regexp.QuoteMeta(flavour))
}

// pickKernelPackage asks apt which versioned kernel the flavour's meta
// package (linux-image-cloud-amd64, linux-image-amd64) depends on.
func pickKernelPackage(ctx context.Context, flavour string) (string, error) {
	meta := "linux-image-" + flavour
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", meta).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("vm: apt-cache depends %s: %w\n%s", meta, err, out)
	}
	re := regexp.MustCompile(`linux-image-(` + versionOf(flavour).String() + `)(\s|$)`)
	m := re.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("vm: apt-cache depends %s names no linux-image-<version>-%s (run apt-get update?):\n%s", meta, flavour, out)
	}
	return "linux-image-" + string(m[1]), nil
}

func findCached(dir, flavour string) (*guestKernel, error) {
	want := regexp.MustCompile(`^` + versionOf(flavour).String() + `$`)
	images, _ := filepath.Glob(filepath.Join(dir, "*", "boot", "vmlinuz-*"))
	for _, img := range images {
		version := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
		if !want.MatchString(version) {
			continue
		}
		root := filepath.Dir(filepath.Dir(img))
		mods := filepath.Join(root, "lib", "modules", version)
		if _, err := os.Stat(filepath.Join(mods, "kernel")); err != nil {
			continue
		}
		return &guestKernel{version: version, image: img, modDir: mods}, nil
	}
	return nil, fmt.Errorf("vm: no %s kernel in cache %s", flavour, dir)
}

// DefaultModules are loaded in every guest: IPVS with all of its
// schedulers, and the virtual links that tests build networks from.
var DefaultModules = []string{
	"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc",
	"ip_vs_lblcr", "ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq",
	"ip_vs_fo", "ip_vs_ovf", "ip_vs_mh", "veth", "dummy",
}

// module is a kernel module file and the ones it needs, all of them,
// dependencies first.
type module struct {
	path string
	deps []string // paths
}

// moduleOrder resolves the modules' dependencies from their .modinfo
// sections (the package ships no modules.dep) and returns the modules in
// load order, dependencies first.
func (k *guestKernel) moduleOrder(want []string) ([]module, error) {
	files := map[string]string{}
	err := filepath.WalkDir(filepath.Join(k.modDir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".ko") {
			files[modName(filepath.Base(p))] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vm: listing kernel modules: %w", err)
	}
	var order []module
	all := map[string][]string{} // name -> transitive dependency paths
	state := map[string]int{}    // 1 visiting, 2 done
	var visit func(name, by string) error
	visit = func(name, by string) error {
		name = modName(name)
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("vm: module dependency cycle at %s", name)
		}
		p, ok := files[name]
		if !ok {
			if by == "" {
				return fmt.Errorf("vm: kernel %s has no module %s", k.version, name)
			}
			return fmt.Errorf("vm: module %s needs %s, which kernel %s lacks", by, name, k.version)
		}
		state[name] = 1
		deps, err := moduleDeps(p)
		if err != nil {
			return err
		}
		var need []string
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
			for _, dd := range append(all[modName(d)], files[modName(d)]) {
				if !slices.Contains(need, dd) {
					need = append(need, dd)
				}
			}
		}
		all[name] = need
		state[name] = 2
		order = append(order, module{path: p, deps: need})
		return nil
	}
	// On kernels where crc32c is a module, libcrc32c needs it first.
	if _, ok := files["crc32c_generic"]; ok {
		if err := visit("crc32c_generic", ""); err != nil {
			return nil, err
		}
	}
	for _, w := range want {
		if err := visit(w, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func modName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(file, ".ko"), "-", "_")
}

func moduleDeps(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vm: reading module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("vm: reading .modinfo of %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}
