// Command apicheck records the exported API of the module's public packages in api/
// and checks that it has not changed unnoticed, as the Go project does with its own
// api/go1.*.txt files.
//
// Run from anywhere inside the module:
//
//	go run ./internal/cmd/apicheck          # check: exit 1 with a diff if the API changed
//	go run ./internal/cmd/apicheck -write   # record: rewrite api/ from the code
//	go run ./internal/cmd/apicheck -print   # print the API to standard output
//
// The public packages are those that `go list ./...` finds in the main module (so a
// directory with a go.mod of its own, such as bench/peers, is another module and is
// left out), less commands (package main), packages under an internal/ directory, and
// those under the top-level directories examples/ and bench/.
//
// Each package has one file in api/, named after its directory relative to the module
// root with "/" replaced by "_" (store/memstore is api/store_memstore.txt); the root
// package's file is named after the package (api/typedsession.txt). A file holds one
// feature a line, sorted, in the form of Go's api files:
//
//	pkg example.com/m/store/memstore, const DefaultMaxSessions untyped int = 100000
//	pkg example.com/m/store/memstore, func New(Options) *Store
//	pkg example.com/m/store/memstore, method (*Store) Close() error
//	pkg example.com/m/store/memstore, type Options struct
//	pkg example.com/m/store/memstore, type Options struct, MaxSessions int
//
// Types of other packages are qualified by their full import path; type parameters
// are written $0, $1, ... by position; byte and rune are written uint8 and int32, and
// aliases are resolved, so that each type has one spelling.
//
// In check mode a package without a file, or a file without a package, is a failure
// too: a new public package must be recorded, and a removed one unrecorded.
//
// The types come from the compiler's export data (go list -export), read with
// go/importer, so the tool needs nothing beyond the standard library and the go
// command, and takes about as long as a cached build. They are those of the host's
// GOOS and GOARCH: an API that differs by build tag would need a run per platform.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// hint is printed after a diff.
const hint = "the exported API changed: if this is intended, run `go run ./internal/cmd/apicheck -write` and commit api/ in the same commit"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command; it returns the exit status: 0 for success, 1 for an API that
// differs from api/, 2 for any other failure.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apicheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("write", false, "write the API files instead of checking them")
	printAPI := fs.Bool("print", false, "print the API to standard output instead of checking it")
	dir := fs.String("C", ".", "run in `dir`, a directory of the module to check")
	apiDir := fs.String("api", "", "the `dir` of the API files (default: api/ at the module root)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./internal/cmd/apicheck [-write | -print] [-C dir] [-api dir]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || (*write && *printAPI) {
		fs.Usage()
		return 2
	}

	mod, err := loadModule(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "apicheck: %v\n", err)
		return 2
	}
	files, err := apiFiles(mod)
	if err != nil {
		fmt.Fprintf(stderr, "apicheck: %v\n", err)
		return 2
	}
	if *apiDir == "" {
		*apiDir = filepath.Join(mod.Root, "api")
	}

	switch {
	case *printAPI:
		for _, f := range files {
			for _, l := range f.Lines {
				fmt.Fprintln(stdout, l)
			}
		}
		return 0
	case *write:
		if err := writeFiles(*apiDir, files, stdout); err != nil {
			fmt.Fprintf(stderr, "apicheck: %v\n", err)
			return 2
		}
		return 0
	default:
		ok, err := check(*apiDir, files, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "apicheck: %v\n", err)
			return 2
		}
		if !ok {
			fmt.Fprintf(stdout, "\n%s\n", hint)
			return 1
		}
		return 0
	}
}

// An apiFile is the API of one package and the name of its file in api/.
type apiFile struct {
	Name       string // file name in api/, such as "store_memstore.txt"
	ImportPath string
	Lines      []string // sorted
}

// apiFiles returns the API of each of mod's public packages, sorted by file name.
func apiFiles(mod *module) ([]apiFile, error) {
	var files []apiFile
	byName := map[string]string{}
	for _, p := range mod.Public {
		name := fileName(mod, p)
		if other, ok := byName[name]; ok {
			return nil, fmt.Errorf("packages %s and %s would share the file api/%s: rename one of them", other, p.ImportPath, name)
		}
		byName[name] = p.ImportPath
		tp, err := mod.Import(p.ImportPath)
		if err != nil {
			return nil, err
		}
		files = append(files, apiFile{Name: name, ImportPath: p.ImportPath, Lines: packageAPI(tp)})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

// fileName names the API file of p: its directory relative to the module root with
// "/" as "_", or the package name for the root package.
func fileName(mod *module, p *listedPackage) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod.Path), "/")
	if rel == "" {
		rel = p.Name
	}
	return strings.ReplaceAll(rel, "/", "_") + ".txt"
}

// writeFiles writes files to dir, leaving unchanged ones untouched, and removes the
// .txt files of packages that no longer exist.
func writeFiles(dir string, files []apiFile, out io.Writer) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Name] = true
		data := []byte(strings.Join(f.Lines, "\n"))
		if len(data) > 0 {
			data = append(data, '\n')
		}
		path := filepath.Join(dir, f.Name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := os.WriteFile(path, data, 0o666); err != nil {
			return err
		}
		fmt.Fprintf(out, "apicheck: wrote %s (%d lines)\n", filepath.Join(dir, f.Name), len(f.Lines))
	}
	stale, err := existingFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range stale {
		if keep[name] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
		fmt.Fprintf(out, "apicheck: removed %s (no such public package)\n", filepath.Join(dir, name))
	}
	return nil
}

// existingFiles returns the names of the .txt files in dir, sorted; none if dir does
// not exist.
func existingFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".txt") {
			names = append(names, e.Name())
		}
	}
	return names, nil // ReadDir sorts by name
}

// check compares files with those recorded in dir, writes what differs to out, and
// reports whether all matched.
func check(dir string, files []apiFile, out io.Writer) (bool, error) {
	rel := relDir(dir)
	ok := true
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.Name] = true
		path := filepath.Join(dir, f.Name)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			ok = false
			fmt.Fprintf(out, "%s is missing: the public package %s has no recorded API\n", filepath.Join(rel, f.Name), f.ImportPath)
			printDiff(out, nil, f.Lines)
			continue
		}
		if err != nil {
			return false, err
		}
		old := parseLines(data)
		if !equal(old, f.Lines) {
			ok = false
			fmt.Fprintf(out, "%s: the exported API of %s changed:\n", filepath.Join(rel, f.Name), f.ImportPath)
			printDiff(out, old, f.Lines)
		}
	}
	names, err := existingFiles(dir)
	if err != nil {
		return false, err
	}
	for _, name := range names {
		if seen[name] {
			continue
		}
		ok = false
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return false, err
		}
		old := parseLines(data)
		what := "a package"
		if len(old) > 0 {
			if p, _, found := strings.Cut(strings.TrimPrefix(old[0], "pkg "), ","); found {
				what = p
			}
		}
		fmt.Fprintf(out, "%s has no package: %s is no longer a public package of the module (removed, renamed or made internal)\n", filepath.Join(rel, name), what)
		printDiff(out, old, nil)
	}
	return ok, nil
}

// relDir returns dir relative to the working directory when it is below it, for
// shorter messages.
func relDir(dir string) string {
	wd, err := os.Getwd()
	if err != nil {
		return dir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if r, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return dir
}

// parseLines returns the features of an API file: its non-blank lines, sorted.
func parseLines(data []byte) []string {
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimRight(l, " \t\r")
		if l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// printDiff writes the lines of old not in cur as "-line" and those of cur not in
// old as "+line", in the order of the lines.
func printDiff(out io.Writer, old, cur []string) {
	type change struct {
		sign byte
		line string
	}
	inOld := map[string]bool{}
	for _, l := range old {
		inOld[l] = true
	}
	inCur := map[string]bool{}
	for _, l := range cur {
		inCur[l] = true
	}
	var changes []change
	for _, l := range old {
		if !inCur[l] {
			changes = append(changes, change{'-', l})
		}
	}
	for _, l := range cur {
		if !inOld[l] {
			changes = append(changes, change{'+', l})
		}
	}
	sort.SliceStable(changes, func(i, j int) bool {
		if changes[i].line != changes[j].line {
			return changes[i].line < changes[j].line
		}
		return changes[i].sign == '-' && changes[j].sign == '+'
	})
	for _, c := range changes {
		fmt.Fprintf(out, "%c%s\n", c.sign, c.line)
	}
}
