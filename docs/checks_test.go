package docs

import (
	"os"
	"strings"
	"testing"
)

// prose is a file's text with its line breaks and indentation folded to
// single spaces, so that a sentence is found wherever it wraps.
func prose(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// The manual and the README say what the checks do where the Perl
// ldirectord differs, as checks/check.go's package comment does: an
// operator who swaps daemons reads these, not the code.
func TestManualTellsHowChecksDifferFromPerl(t *testing.T) {
	man, readme := prose(t, "ldirectord.8.md"), prose(t, "../README.md")
	for _, c := range []struct {
		name, text, want string
	}{
		{"manual, https", man, "The Perl ldirectord verifies the chain (not the name)"},
		{"manual, differences", man, "https checks verify no certificate; the Perl ldirectord verifies the chain, though not the name."},
		{"manual, smtp", man, "A server that refuses EHLO for good (5xx) is greeted with HELO instead"},
		{"README", readme, "https checks do not verify certificates (Perl on Debian 12 verifies the chain but not the name)"},
	} {
		if !strings.Contains(c.text, c.want) {
			t.Errorf("%s does not say %q", c.name, c.want)
		}
	}
	for _, wrong := range []string{"as the Perl ldirectord does not."} {
		if strings.Contains(man, wrong) {
			t.Errorf("the manual still says %q", wrong)
		}
	}
}
