package typedsession_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityNamesTests checks that every test SECURITY.md names exists: each Test,
// Fuzz and Example function in a _test.go file of the repository, and each
// RunManager/X and RunKV/X subtest in the conformance suite's table.
func TestSecurityNamesTests(t *testing.T) {
	doc, err := os.ReadFile("SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Example)\w*)\(`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(src, -1) {
			funcs[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	subtests := map[string]bool{}
	entry := regexp.MustCompile(`\{"(\w+)", (?:test|kv)\w*\}`)
	for suite, file := range map[string]string{"RunKV": "store/storetest/kv.go", "RunManager": "store/storetest/manager.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range entry.FindAllSubmatch(src, -1) {
			subtests[suite+"/"+string(m[1])] = true
		}
	}
	if len(funcs) == 0 || len(subtests) == 0 {
		t.Fatalf("found %d test functions and %d suite subtests: the patterns no longer match the code", len(funcs), len(subtests))
	}

	named := 0
	for _, m := range regexp.MustCompile(`\b(?:(?:Test|Fuzz|Example)\w+|(?:RunManager|RunKV)/\w+)`).FindAll(doc, -1) {
		name := string(m)
		named++
		if !funcs[name] && !subtests[name] {
			t.Errorf("SECURITY.md names %s, which no test of the repository is", name)
		}
	}
	if named < 20 {
		t.Errorf("SECURITY.md names %d tests; want its tables' (at least 20)", named)
	}
}
