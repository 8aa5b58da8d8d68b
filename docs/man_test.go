package docs

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// render builds the page with "make man" into a directory of the test's own
// (so that parallel builds do not share bin/) and formats it with man(1) as
// an operator reads it.
func render(t *testing.T) (roff, text string) {
	t.Helper()
	if _, err := exec.LookPath("man"); err != nil {
		t.Fatalf("man(1) not found: install the Debian package man-db")
	}
	page := filepath.Join(t.TempDir(), "ldirectord.8")
	mk := exec.Command("make", "--no-print-directory", "-C", "..", "man", "MANPAGE="+page)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make man: %v\n%s", err, out)
	}
	gz, err := os.ReadFile(page + ".gz")
	if err != nil {
		t.Fatalf("make man did not leave the compressed page: %v", err)
	}
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("make man did not leave the roff page: %v", err)
	}
	if len(gz) < 2 || gz[0] != 0x1f || gz[1] != 0x8b {
		t.Fatalf("%s.gz is not gzip data", page)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("man", "--warnings", "-l", page+".gz")
	cmd.Env = append(os.Environ(), "MANWIDTH=100", "MAN_KEEP_FORMATTING=", "LC_ALL=C.UTF-8")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l %s.gz: %v\n%s", page, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("groff warns about the page:\n%s", stderr.String())
	}
	return string(src), string(out)
}

// tags returns the entries of the page's definition lists (the line after
// each .TP), without font changes: "checktimeout = n", "-d, --debug".
func tags(roff string) []string {
	var out []string
	ls := strings.Split(roff, "\n")
	unfont := strings.NewReplacer(`\fB`, "", `\fI`, "", `\fP`, "", `\fR`, "", `\-`, "-", `\(em`, "-", `\&`, "")
	for i, l := range ls {
		if l == ".TP" && i+1 < len(ls) {
			out = append(out, unfont.Replace(ls[i+1]))
		}
	}
	return out
}

// hasEntry says whether some entry's tag names word: the tag is the word, or
// begins with it followed by a space, a comma or " (".
func hasEntry(tags []string, word string) bool {
	for _, tag := range tags {
		for _, alt := range strings.Split(tag, ", ") {
			if alt == word || strings.HasPrefix(alt, word+" ") {
				return true
			}
		}
	}
	return false
}

// lines returns the non-comment lines of a testdata list.
func lines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// perlDirectives reads the directives of the Perl ldirectord's own page when
// Debian's ldirectord package is installed, so that a directive its page
// gains is noticed too.
func perlDirectives(t *testing.T) []string {
	const page = "/usr/share/man/man8/ldirectord.8.gz"
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "ldirectord").Output(); err != nil || !strings.Contains(string(out), "ok installed") {
		t.Logf("Debian's ldirectord package is not installed; checking against testdata only")
		return nil
	}
	cmd := exec.Command("man", "-l", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=100", "LC_ALL=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l %s (Debian's ldirectord page): %v", page, err)
	}
	re := regexp.MustCompile(`(?m)^ {7}([a-z0-9]+) =(?: |$)`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		names = append(names, m[1])
	}
	if len(names) < 30 {
		t.Fatalf("found only %d directives in %s: %v; has its layout changed?", len(names), page, names)
	}
	return names
}

func TestManualDescribesEveryDirective(t *testing.T) {
	roff, _ := render(t)
	entries := tags(roff)
	want := append(lines(t, "reference-directives.txt"), perlDirectives(t)...)
	want = append(want, lines(t, "extension-directives.txt")...)
	for _, d := range want {
		if !hasEntry(entries, d+" =") {
			t.Errorf("the manual has no entry \"%s = ...\" for directive %s", d, d)
		}
	}
}

func TestManualDescribesCommandsOptionsChecksAndServices(t *testing.T) {
	roff, text := render(t)
	entries := tags(roff)
	entry := func(kind, word string) {
		t.Helper()
		if !hasEntry(entries, word) {
			t.Errorf("the manual has no entry for %s %q", kind, word)
		}
	}
	for _, c := range []string{"start", "stop", "restart", "try-restart", "reload", "force-reload", "status", "probe"} {
		entry("command", c)
	}
	for _, o := range []string{"-d", "--debug", "-t", "--check", "-h", "--help", "-v", "--version", "--"} {
		entry("option", o)
	}
	for _, c := range []string{"negotiate", "connect", "N", "ping", "external", "external-perl", "on", "off"} {
		entry("check type", c)
	}
	for _, s := range []string{"dns", "ftp", "http", "https", "http_proxy", "imap", "imaps", "ldap", "ldaps", "mysql", "nntp", "none", "oracle", "pgsql", "pop", "pops", "radius", "simpletcp", "sip", "smtp", "submission"} {
		entry("service", s)
	}
	for _, section := range []string{"SYNOPSIS", "COMMANDS", "OPTIONS", "CONFIGURATION", "CHECK TYPES", "SERVICES", "RELOADING", "LOG FILES", "DIFFERENCES FROM THE PERL LDIRECTORD", "EXTENSIONS", "FILES", "EXIT STATUS"} {
		if !regexp.MustCompile(`(?m)^` + section + `$`).MatchString(text) {
			t.Errorf("the manual has no section %s", section)
		}
	}
}
