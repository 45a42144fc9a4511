package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// skipTop are the top-level directories of the module whose packages are not public
// API: examples, and the benchmarks.
var skipTop = []string{"bench", "examples"}

// A listedPackage is the part of `go list -json` that apicheck reads.
type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	Export     string // the file of the compiler's export data
	DepOnly    bool   // a dependency of the listed packages, not one of them
	Module     *struct {
		Path string
		Main bool
	}
	Error *struct {
		Err string
	}
}

// A module is the main module of a directory, with the export data of its packages
// and their dependencies.
type module struct {
	Path   string           // module path
	Root   string           // directory of its go.mod
	Public []*listedPackage // its public packages, sorted by import path

	export map[string]string // import path -> export data file
	imp    types.Importer
}

// loadModule lists the packages of the main module of dir, with `go list -export
// -deps`, which builds them (or finds them in the build cache).
func loadModule(dir string) (*module, error) {
	gomod, err := goCmd(dir, "env", "GOMOD")
	if err != nil {
		return nil, err
	}
	gomod = strings.TrimSpace(gomod)
	if gomod == "" || gomod == os.DevNull {
		return nil, fmt.Errorf("%s is not in a module", dir)
	}
	root := filepath.Dir(gomod)
	modPath, err := goCmd(root, "list", "-m", "-f", "{{.Path}}")
	if err != nil {
		return nil, err
	}
	mod := &module{
		Path:   strings.TrimSpace(modPath),
		Root:   root,
		export: map[string]string{},
	}

	out, err := goCmd(root, "list", "-e", "-export", "-deps",
		"-json=ImportPath,Name,Dir,Export,DepOnly,Module,Error", "./...")
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var errs []string
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %v", err)
		}
		if p.Error != nil {
			errs = append(errs, fmt.Sprintf("%s: %s", p.ImportPath, strings.TrimSpace(p.Error.Err)))
			continue
		}
		if p.Export != "" {
			mod.export[p.ImportPath] = p.Export
		}
		if !p.DepOnly && mod.public(p) {
			mod.Public = append(mod.Public, p)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("go list:\n\t%s", strings.Join(errs, "\n\t"))
	}
	// go list prints the packages in dependency order; sort them by import path.
	sort.Slice(mod.Public, func(i, j int) bool { return mod.Public[i].ImportPath < mod.Public[j].ImportPath })

	mod.imp = importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := mod.export[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	return mod, nil
}

// public reports whether p, one of the packages go list matched with ./..., is part of
// the module's public API.
func (m *module) public(p *listedPackage) bool {
	if p.Name == "main" || p.Module == nil || !p.Module.Main || p.Module.Path != m.Path {
		return false
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, m.Path), "/")
	elems := strings.Split(rel, "/")
	for _, top := range skipTop {
		if elems[0] == top {
			return false
		}
	}
	for _, e := range elems {
		if e == "internal" || e == "testdata" || e == "vendor" {
			return false
		}
	}
	// go list does not descend into a directory with a go.mod of its own, but make
	// sure: such a directory is another module, with an API of its own.
	for d := p.Dir; d != m.Root && len(d) > len(m.Root); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return false
		}
	}
	return true
}

// Import returns the type-checked package path from its export data.
func (m *module) Import(path string) (*types.Package, error) {
	p, err := m.imp.Import(path)
	if err != nil {
		return nil, fmt.Errorf("importing %s: %v", path, err)
	}
	return p, nil
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) && msg != "" {
			return "", fmt.Errorf("go %s: %s", strings.Join(args, " "), msg)
		}
		return "", fmt.Errorf("go %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}
