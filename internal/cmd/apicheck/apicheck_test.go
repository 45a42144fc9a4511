package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMod is a module of its own under testdata/, which the go command ignores in
// this module, with one declaration of each kind and packages that are not public.
const testMod = "testdata/mod"

// wantAPI is the API of testMod, checked by hand: api/apitest.txt, then
// api/store_deep.txt, then api/sub.txt (api/empty.txt is empty). Not in it: the
// internal/ packages, those under examples/ and bench/, the command under cmd/, and
// the module nested/.
const wantAPI = `
pkg example.com/apitest, const Big untyped float = 1/10
pkg example.com/apitest, const Typed time.Duration = 2000000000
pkg example.com/apitest, const TypedLocal Level = 5
pkg example.com/apitest, const TypedLocal2 Level = 6
pkg example.com/apitest, const Untyped untyped int = 100000
pkg example.com/apitest, const UntypedFloat untyped float = 1.5
pkg example.com/apitest, const UntypedRune untyped rune = 120
pkg example.com/apitest, const UntypedString untyped string = "a\tb"
pkg example.com/apitest, func F(int, int, string) (bool, error)
pkg example.com/apitest, func Index[$0 ~[]$1, $1 comparable]($0, $1) int
pkg example.com/apitest, func Map[$0 comparable, $1 ~string](map[$0]$1) []$0
pkg example.com/apitest, func NewInner() *inner
pkg example.com/apitest, func NoResult()
pkg example.com/apitest, func Sum[$0 Number](...$0) $0
pkg example.com/apitest, func Variadic(string, ...any)
pkg example.com/apitest, method (*List[$0]) Clone() *List[$0]
pkg example.com/apitest, method (*List[$0]) Each(func(int, $0) bool)
pkg example.com/apitest, method (*List[$0]) Push($0)
pkg example.com/apitest, method (Level) String() string
pkg example.com/apitest, method (List[$0]) Len() int
pkg example.com/apitest, method (Pair[$0, $1]) First() $0
pkg example.com/apitest, method (Struct) Clone() *List[string]
pkg example.com/apitest, method (Struct) Each(func(int, string) bool)
pkg example.com/apitest, method (Struct) InnerMethod()
pkg example.com/apitest, method (Struct) Len() int
pkg example.com/apitest, method (Struct) Push(string)
pkg example.com/apitest, method (Struct) String() string
pkg example.com/apitest, method (Struct) Write([]uint8) (int, error)
pkg example.com/apitest, type Alias = time.Time
pkg example.com/apitest, type AnyAlias = any
pkg example.com/apitest, type Closer interface { Close }
pkg example.com/apitest, type Closer interface, Close() error
pkg example.com/apitest, type Empty interface
pkg example.com/apitest, type Func func(any, []uint8, int32) error
pkg example.com/apitest, type GenericAlias[$0 any] = List[$0]
pkg example.com/apitest, type GetCloser[$0 any] interface { Close, Get }
pkg example.com/apitest, type GetCloser[$0 any] interface, Close() error
pkg example.com/apitest, type GetCloser[$0 any] interface, Get() $0
pkg example.com/apitest, type GetCloser[$0 any] interface, embedded Closer
pkg example.com/apitest, type GetCloser[$0 any] interface, embedded Getter[$0]
pkg example.com/apitest, type Getter[$0 any] interface { Get }
pkg example.com/apitest, type Getter[$0 any] interface, Get() $0
pkg example.com/apitest, type Level int
pkg example.com/apitest, type List[$0 any] struct
pkg example.com/apitest, type List[$0 any] struct, Items []$0
pkg example.com/apitest, type Number interface
pkg example.com/apitest, type Number interface, ~int | ~int64 | ~float64
pkg example.com/apitest, type Pair[$0 comparable, $1 Number] struct
pkg example.com/apitest, type Pair[$0 comparable, $1 Number] struct, Key $0
pkg example.com/apitest, type Pair[$0 comparable, $1 Number] struct, Val $1
pkg example.com/apitest, type ReadCloser interface { Close, Extra, Read }
pkg example.com/apitest, type ReadCloser interface, Close() error
pkg example.com/apitest, type ReadCloser interface, Extra(context.Context) (int, error)
pkg example.com/apitest, type ReadCloser interface, Read([]uint8) (int, error)
pkg example.com/apitest, type ReadCloser interface, embedded Closer
pkg example.com/apitest, type ReadCloser interface, embedded io.Reader
pkg example.com/apitest, type Sealed interface { Public }
pkg example.com/apitest, type Sealed interface, Public()
pkg example.com/apitest, type Sealed interface, unexported methods
pkg example.com/apitest, type Struct struct
pkg example.com/apitest, type Struct struct, Fn func(Struct) *Struct
pkg example.com/apitest, type Struct struct, Name string
pkg example.com/apitest, type Struct struct, embedded *List[string]
pkg example.com/apitest, type Struct struct, embedded Level
pkg example.com/apitest, type Struct struct, embedded inner
pkg example.com/apitest, type Struct struct, embedded io.Writer
pkg example.com/apitest, var Anon struct{ A int "json:\"a\""; b string; io.Reader }
pkg example.com/apitest, var Arr [4]map[string]*Level
pkg example.com/apitest, var Bytes []uint8
pkg example.com/apitest, var Chans struct{ In <-chan int; Out chan<- []int32; Both chan (<-chan bool) }
pkg example.com/apitest, var ErrX error
pkg example.com/apitest, var Hook func(context.Context, ...int) (int, error)
pkg example.com/apitest/store/deep, var V int
pkg example.com/apitest/sub, func New(example.com/apitest.Pair[string, float64]) *T
pkg example.com/apitest/sub, method (T) Close() error
pkg example.com/apitest/sub, type T struct
pkg example.com/apitest/sub, type T struct, L example.com/apitest.List[int]
pkg example.com/apitest/sub, type T struct, embedded example.com/apitest.Closer
`

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestAPI(t *testing.T) {
	out, errOut, code := runCmd(t, "-C", testMod, "-print")
	if code != 0 {
		t.Fatalf("-print exited %d: %s", code, errOut)
	}
	if want := strings.TrimPrefix(wantAPI, "\n"); out != want {
		t.Errorf("API of %s: got\n%s\nwant\n%s\ndiff (- want, + got):", testMod, out, want)
		var diff bytes.Buffer
		printDiff(&diff, parseLines([]byte(want)), parseLines([]byte(out)))
		t.Log("\n" + diff.String())
	}
}

func TestFileNames(t *testing.T) {
	mod, err := loadModule(testMod)
	if err != nil {
		t.Fatal(err)
	}
	files, err := apiFiles(mod)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Name+" "+f.ImportPath)
	}
	want := []string{
		"apitest.txt example.com/apitest",
		"empty.txt example.com/apitest/empty",
		"store_deep.txt example.com/apitest/store/deep",
		"sub.txt example.com/apitest/sub",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWriteAndCheck(t *testing.T) {
	api := t.TempDir()

	// A file of no package is removed by -write.
	stale := filepath.Join(api, "gone.txt")
	writeFile(t, stale, "pkg example.com/apitest/gone, func Gone()\n")
	out, errOut, code := runCmd(t, "-C", testMod, "-api", api, "-write")
	if code != 0 {
		t.Fatalf("-write exited %d: %s%s", code, out, errOut)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("-write left %s: %v", stale, err)
	}
	for _, name := range []string{"apitest.txt", "empty.txt", "store_deep.txt", "sub.txt"} {
		if _, err := os.Stat(filepath.Join(api, name)); err != nil {
			t.Errorf("-write did not write %s: %v", name, err)
		}
	}
	if got, want := readFile(t, filepath.Join(api, "store_deep.txt")), "pkg example.com/apitest/store/deep, var V int\n"; got != want {
		t.Errorf("store_deep.txt = %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(api, "empty.txt")); got != "" {
		t.Errorf("empty.txt = %q, want it empty", got)
	}

	// What -write wrote checks clean.
	out, errOut, code = runCmd(t, "-C", testMod, "-api", api)
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("check after -write: exit %d, output %q %q", code, out, errOut)
	}

	// A feature removed from the file is one added to the API, and the reverse.
	const (
		added   = "pkg example.com/apitest, func NoResult()"
		removed = "pkg example.com/apitest, func Removed(int) error"
	)
	path := filepath.Join(api, "apitest.txt")
	golden := readFile(t, path)
	if !strings.Contains(golden, added+"\n") {
		t.Fatalf("apitest.txt has no line %q", added)
	}
	writeFile(t, path, strings.Replace(golden, added+"\n", "", 1)+removed+"\n")
	out, errOut, code = runCmd(t, "-C", testMod, "-api", api)
	if code != 1 {
		t.Errorf("check of a changed API exited %d, want 1; stderr: %s", code, errOut)
	}
	want := filepath.Join(api, "apitest.txt") + ": the exported API of example.com/apitest changed:\n" +
		"+" + added + "\n" +
		"-" + removed + "\n" +
		"\n" + hint + "\n"
	if out != want {
		t.Errorf("check of a changed API printed\n%s\nwant\n%s", out, want)
	}
	writeFile(t, path, golden)

	// A package without a file, and a file without a package, fail the check.
	sub := filepath.Join(api, "sub.txt")
	subGolden := readFile(t, sub)
	if err := os.Remove(sub); err != nil {
		t.Fatal(err)
	}
	writeFile(t, stale, "pkg example.com/apitest/gone, func Gone()\n")
	out, _, code = runCmd(t, "-C", testMod, "-api", api)
	if code != 1 {
		t.Errorf("check with a missing and a stale file exited %d, want 1", code)
	}
	for _, line := range []string{
		sub + " is missing: the public package example.com/apitest/sub has no recorded API",
		"+pkg example.com/apitest/sub, type T struct",
		stale + " has no package: example.com/apitest/gone is no longer a public package of the module (removed, renamed or made internal)",
		"-pkg example.com/apitest/gone, func Gone()",
		hint,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("check output has no line %q:\n%s", line, out)
		}
	}

	// -write puts it right; an unchanged file is left alone.
	out, errOut, code = runCmd(t, "-C", testMod, "-api", api, "-write")
	if code != 0 {
		t.Fatalf("-write exited %d: %s", code, errOut)
	}
	if want := "apicheck: wrote " + sub + " (5 lines)\napicheck: removed " + stale + " (no such public package)\n"; out != want {
		t.Errorf("-write printed\n%s\nwant\n%s", out, want)
	}
	if got := readFile(t, sub); got != subGolden {
		t.Errorf("sub.txt rewritten as %q, want %q", got, subGolden)
	}
	if _, _, code = runCmd(t, "-C", testMod, "-api", api); code != 0 {
		t.Errorf("check after the second -write exited %d", code)
	}
}

func TestFileNameCollision(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/clash\n\ngo 1.25.0\n")
	for _, d := range []string{"a_b", "a/b"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, d, "p.go"), "package b\n\nfunc F() {}\n")
	}
	_, errOut, code := runCmd(t, "-C", dir, "-print")
	if want := "packages example.com/clash/a/b and example.com/clash/a_b would share the file api/a_b.txt"; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("two packages of one file name: exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
}

func TestNotAModule(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOFLAGS", "")
	t.Setenv("GO111MODULE", "on")
	t.Setenv("GOWORK", "off")
	_, errOut, code := runCmd(t, "-C", dir, "-print")
	if code != 2 || !strings.Contains(errOut, "not in a module") {
		t.Errorf("outside a module: exit %d, stderr %q; want 2 and \"not in a module\"", code, errOut)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
