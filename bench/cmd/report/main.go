// Command report runs the whole benchmark comparison and prints the table of medians.
//
// From the repository root:
//
//	go run ./bench/cmd/report                      # -count 5: the table of bench/README.md
//	go run ./bench/cmd/report -count 1 -benchtime 1x   # the quick form CI runs
//	go run ./bench/cmd/report -parse               # only print the table of the last run
//
// It runs `go test -run '^$' -bench . -benchmem` in bench/ (our backends, floors, codecs)
// and in bench/peers (scs, gorilla/sessions, a module of its own), writes the raw output
// to bench/results/ours.txt and bench/results/peers.txt (benchstat reads them too), and
// prints, per benchmark, the median ns/op, B/op, allocs/op and store-calls/op, the ratio
// to the backend's floor and to the peer, then the goals of the issue, met or missed.
//
// A benchmark that fails fails the command. The standard library only: the typedsession
// module needs no extra dependency for it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func main() {
	count := flag.Int("count", 5, "go test -count")
	benchtime := flag.String("benchtime", "", "go test -benchtime (default: go test's)")
	bench := flag.String("bench", ".", "go test -bench")
	dir := flag.String("dir", "bench", "the bench directory (peers in its subdirectory peers)")
	parse := flag.Bool("parse", false, "do not run: print the table of the files of the last run")
	flag.Parse()

	out := filepath.Join(*dir, "results")
	files := []struct{ pkg, file string }{
		{*dir, filepath.Join(out, "ours.txt")},
		{filepath.Join(*dir, "peers"), filepath.Join(out, "peers.txt")},
	}
	if !*parse {
		if err := os.MkdirAll(out, 0o755); err != nil {
			fatal(err)
		}
		for _, f := range files {
			args := []string{"test", "-run", "^$", "-bench", *bench, "-benchmem", "-count", strconv.Itoa(*count)}
			if *benchtime != "" {
				args = append(args, "-benchtime", *benchtime)
			}
			args = append(args, ".")
			if err := run(f.pkg, f.file, args); err != nil {
				fatal(fmt.Errorf("%s: go %s: %w", f.pkg, strings.Join(args, " "), err))
			}
		}
	}
	res := results{}
	for _, f := range files {
		if err := res.read(f.file); err != nil {
			fatal(err)
		}
	}
	res.print(os.Stdout)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// run runs go with args in dir, its output both to file and to stderr.
func run(dir, file string, args []string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(os.Stderr, "(cd %s && go %s)\n", dir, strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(f, os.Stderr)
	cmd.Stderr = cmd.Stdout
	return cmd.Run()
}

// results holds every measurement by benchmark name (without the -GOMAXPROCS suffix) and unit.
type results map[string]map[string][]float64

var procs = regexp.MustCompile(`-\d+$`)

func (res results) read(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := procs.ReplaceAllString(strings.TrimPrefix(fields[0], "Benchmark"), "")
		if res[name] == nil {
			res[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			res[name][fields[i+1]] = append(res[name][fields[i+1]], v)
		}
	}
	return sc.Err()
}

// median returns the median of name's unit, and whether there is one.
func (res results) median(name, unit string) (float64, bool) {
	vs := slices.Clone(res[name][unit])
	if len(vs) == 0 {
		return 0, false
	}
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}

// name is a parsed benchmark name: its top-level benchmark and its key=value elements.
type name struct {
	top  string
	keys map[string]string
}

func parseName(s string) name {
	parts := strings.Split(s, "/")
	n := name{top: parts[0], keys: map[string]string{}}
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			n.keys[k] = v
		}
	}
	return n
}

// peerOf names the peer of each of our backends.
var peerOf = map[string]string{
	"memory": "scs-memory", "memory-gojson": "scs-memory", "memory-binary": "scs-memory",
	"redis": "scs-redis", "postgres": "scs-postgres",
	"cookie": "gorilla-cookie", "cookie-gojson": "gorilla-cookie", "cookie-binary": "gorilla-cookie",
}

// floorOf names the floor backend of each of our backends.
var floorOf = map[string]string{
	"memory": "memory", "memory-gojson": "memory", "memory-binary": "memory",
	"redis": "redis", "redis-replica": "redis", "redis-wait1": "redis", "postgres": "postgres", "mongo": "mongo",
	"cookie": "cookie", "cookie-gojson": "cookie", "cookie-binary": "cookie",
}

// floor returns the name of the floor of a Request benchmark: the Floor of its backend
// for read (idle-read too), write and new, harness-noop for untouched.
func floor(n name) string {
	op := n.keys["op"]
	if n.top != "Request" || n.keys["backend"] == "noop" {
		return ""
	}
	if op == "untouched" {
		return fmt.Sprintf("Request/backend=noop/op=untouched/mode=%s", n.keys["mode"])
	}
	fb, ok := floorOf[n.keys["backend"]]
	if !ok {
		return ""
	}
	if op == "idle-read" {
		op = "read"
	}
	return fmt.Sprintf("Floor/backend=%s/op=%s/mode=%s", fb, op, n.keys["mode"])
}

// peer returns the name of the peer's run of the same benchmark.
func peer(s string, n name) string {
	p, ok := peerOf[n.keys["backend"]]
	if !ok || (n.top != "Request" && n.top != "Size") {
		return ""
	}
	return strings.Replace(s, "backend="+n.keys["backend"]+"/", "backend="+p+"/", 1)
}

func (res results) print(w io.Writer) {
	names := make([]string, 0, len(res))
	for s := range res {
		names = append(names, s)
	}
	order := map[string]int{"Request": 0, "Size": 1, "Floor": 2, "Codec": 3}
	sort.SliceStable(names, func(i, j int) bool {
		a, b := parseName(names[i]), parseName(names[j])
		if order[a.top] != order[b.top] {
			return order[a.top] < order[b.top]
		}
		return names[i] < names[j]
	})
	fmt.Fprintln(w, "| benchmark | ns/op | B/op | allocs/op | store calls/op | × floor | × peer | peer ns/op |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range names {
		n := parseName(s)
		ns, _ := res.median(s, "ns/op")
		bytes, _ := res.median(s, "B/op")
		allocs, _ := res.median(s, "allocs/op")
		calls := "-"
		if c, ok := res.median(s, "store-calls/op"); ok {
			calls = strconv.FormatFloat(c, 'f', 2, 64)
		}
		xFloor, xPeer, peerNs := "-", "-", "-"
		if f := floor(n); f != "" {
			if fv, ok := res.median(f, "ns/op"); ok && fv > 0 {
				xFloor = fmt.Sprintf("%.2f", ns/fv)
			}
		}
		if p := peer(s, n); p != "" {
			if pv, ok := res.median(p, "ns/op"); ok && pv > 0 {
				xPeer = fmt.Sprintf("%.2f", ns/pv)
				peerNs = fmtNs(pv)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %s | %s | %s | %s |\n", s, fmtNs(ns), bytes, allocs, calls, xFloor, xPeer, peerNs)
	}
	fmt.Fprintln(w)
	res.goals(w)
}

func fmtNs(v float64) string {
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// goals prints the goals of the issue, each with the measured ratio, met or missed.
func (res results) goals(w io.Writer) {
	fmt.Fprintln(w, "| goal | mode | measured | target | |")
	fmt.Fprintln(w, "|---|---|---:|---:|---|")
	ratio := func(a, b, unit string) (float64, bool) {
		x, ok1 := res.median(a, unit)
		y, ok2 := res.median(b, unit)
		if !ok1 || !ok2 || y == 0 {
			return 0, false
		}
		return x / y, true
	}
	line := func(goal, mode, a, b, unit string, target float64) {
		r, ok := ratio(a, b, unit)
		if !ok {
			fmt.Fprintf(w, "| %s | %s | n/a | ≤ %.2f | not measured |\n", goal, mode, target)
			return
		}
		verdict := "met"
		if r > target {
			verdict = "**missed**"
		}
		fmt.Fprintf(w, "| %s | %s | %.3f | ≤ %.2f | %s |\n", goal, mode, r, target, verdict)
	}
	req := func(backend, op, mode string) string {
		return fmt.Sprintf("Request/backend=%s/op=%s/mode=%s", backend, op, mode)
	}
	fl := func(backend, op, mode string) string {
		return fmt.Sprintf("Floor/backend=%s/op=%s/mode=%s", backend, op, mode)
	}
	for _, mode := range []string{"seq", "par"} {
		line("memory read / scs-memory read (json)", mode, req("memory", "read", mode), req("scs-memory", "read", mode), "ns/op", 0.3)
		line("memory read / scs-memory read (gojson)", mode, req("memory-gojson", "read", mode), req("scs-memory", "read", mode), "ns/op", 0.1)
		line("memory read / scs-memory read (binary)", mode, req("memory-binary", "read", mode), req("scs-memory", "read", mode), "ns/op", 0.1)
		line("memory read allocs / scs-memory allocs", mode, req("memory", "read", mode), req("scs-memory", "read", mode), "allocs/op", 1.0/3)
		for _, op := range []string{"read", "write", "new"} {
			line("cookie "+op+" / gorilla-cookie "+op, mode, req("cookie", op, mode), req("gorilla-cookie", op, mode), "ns/op", 0.25)
			line("cookie-binary "+op+" / gorilla-cookie "+op, mode, req("cookie-binary", op, mode), req("gorilla-cookie", op, mode), "ns/op", 0.25)
		}
		for _, be := range []string{"redis", "postgres", "mongo"} {
			for _, op := range []string{"read", "write"} {
				line(be+" "+op+" / floor", mode, req(be, op, mode), fl(be, op, mode), "ns/op", 1.15)
			}
			line(be+" idle-read / read", mode, req(be, "idle-read", mode), req(be, "read", mode), "ns/op", 1.15)
		}
		for _, be := range []string{"memory", "redis", "postgres", "mongo", "cookie"} {
			line(be+" untouched / harness-noop untouched", mode, req(be, "untouched", mode), req("noop", "untouched", mode), "ns/op", 1.10)
		}
	}
	line("codec decode: gojson / json", "seq", "Codec/codec=gojson/op=decode", "Codec/codec=json/op=decode", "ns/op", 0.25)
	line("codec decode: binary / json", "seq", "Codec/codec=binary/op=decode", "Codec/codec=json/op=decode", "ns/op", 0.25)
}
