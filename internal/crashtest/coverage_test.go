package crashtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryProviderRunsTheSuite fails when a provider package (one whose
// code asserts it implements providers.Provider, as each must) has no test
// calling crashtest.Run, so a provider added later cannot skip the suite.
// providertest runs it from this package (crashtest_test.go).
func TestEveryProviderRunsTheSuite(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("..", "..", "providers", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, dir := range dirs {
		impl, suite := scan(t, dir)
		if !impl {
			continue
		}
		found = append(found, filepath.Base(dir))
		if !suite && filepath.Base(dir) != "providertest" {
			t.Errorf("provider %s has no test calling crashtest.Run (see providers/local/crash_test.go)", filepath.Base(dir))
		}
	}
	if len(found) < 3 {
		t.Errorf("found providers %q, want providertest, local and cloudrun at least", found)
	}
}

// implements matches the assertion a provider package makes, however gofmt
// aligned it.
var implements = regexp.MustCompile(`_\s+providers\.Provider\s+=\s`)

// scan reports whether the Go files of dir assert an implementation of
// providers.Provider, and whether its tests run the crash suite.
func scan(t *testing.T, dir string) (impl, suite bool) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		if strings.HasSuffix(f, "_test.go") {
			suite = suite || strings.Contains(src, "crashtest.Run(")
		} else {
			impl = impl || implements.MatchString(src)
		}
	}
	return impl, suite
}
