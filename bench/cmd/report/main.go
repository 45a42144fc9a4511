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
// to the backend's floor and to the peer; then the session layer's own cost per backend,
// op and mode (see ownParts), its median and its spread over the runs; then the goals,
// met or missed. Goals never fail the command.
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
	vs := res[name][unit]
	if len(vs) == 0 {
		return 0, false
	}
	return median(vs), true
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
	res.printOwn(w)
	fmt.Fprintln(w)
	res.goals(w)
}

func fmtNs(v float64) string {
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// codecOf names the codec of each of our backends, as bench/backends_test.go makes
// them: the -gojson and -binary variants use their codec, every other backend the
// default JSON.
func codecOf(backend string) string {
	switch {
	case strings.HasSuffix(backend, "-gojson"):
		return "gojson"
	case strings.HasSuffix(backend, "-binary"):
		return "binary"
	}
	return "json"
}

// ownParts returns what is taken out of the Request benchmark n to leave the session
// layer's own cost: harness-noop's run of the same op and mode, the backend's floor
// (read's for idle-read; none for untouched) and the codec's runs in the same mode
// (decode on read and idle-read, decode and encode on write, encode on new, none on
// untouched). ok is false for a benchmark that has no own cost: not a Request, noop,
// or a backend without a floor.
func ownParts(n name) (noop, floor string, codec []string, ok bool) {
	be, op, mode := n.keys["backend"], n.keys["op"], n.keys["mode"]
	fb, known := floorOf[be]
	if n.top != "Request" || !known || mode == "" {
		return "", "", nil, false
	}
	noop = fmt.Sprintf("Request/backend=noop/op=%s/mode=%s", op, mode)
	c := func(cop string) string {
		return fmt.Sprintf("Codec/codec=%s/op=%s/mode=%s", codecOf(be), cop, mode)
	}
	switch op {
	case "read", "idle-read":
		floor = fmt.Sprintf("Floor/backend=%s/op=read/mode=%s", fb, mode)
		codec = []string{c("decode")}
	case "write":
		floor = fmt.Sprintf("Floor/backend=%s/op=write/mode=%s", fb, mode)
		codec = []string{c("decode"), c("encode")}
	case "new":
		floor = fmt.Sprintf("Floor/backend=%s/op=new/mode=%s", fb, mode)
		codec = []string{c("encode")}
	case "untouched":
	default:
		return "", "", nil, false
	}
	return noop, floor, codec, true
}

// ownCost returns, for each run i, ours[i] − the sum of the i-th values of less: the
// session layer's own cost in that run. It covers the runs that every series has.
func ownCost(ours []float64, less ...[]float64) []float64 {
	n := len(ours)
	for _, l := range less {
		n = min(n, len(l))
	}
	own := make([]float64, n)
	for i := range own {
		own[i] = ours[i]
		for _, l := range less {
			own[i] -= l[i]
		}
	}
	return own
}

// own returns the own cost of the Request benchmark s in each run, and whether every
// part it needs was measured.
func (res results) own(s string) ([]float64, bool) {
	noop, floor, codec, ok := ownParts(parseName(s))
	if !ok {
		return nil, false
	}
	ours := res[s]["ns/op"]
	less := [][]float64{res[noop]["ns/op"]}
	if floor != "" {
		less = append(less, res[floor]["ns/op"])
	}
	for _, c := range codec {
		less = append(less, res[c]["ns/op"])
	}
	if len(ours) == 0 || slices.ContainsFunc(less, func(l []float64) bool { return len(l) == 0 }) {
		return nil, false
	}
	return ownCost(ours, less...), true
}

// allocsOverNoop returns the median allocs/op of the Request benchmark s less
// harness-noop's for the same op and mode.
func (res results) allocsOverNoop(s string) (float64, bool) {
	noop, _, _, ok := ownParts(parseName(s))
	if !ok {
		return 0, false
	}
	a, ok1 := res.median(s, "allocs/op")
	b, ok2 := res.median(noop, "allocs/op")
	return a - b, ok1 && ok2
}

// median returns the median of vs, which is not empty.
func median(vs []float64) float64 {
	vs = slices.Clone(vs)
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// printOwn prints the own cost of every Request benchmark that has one: the medians of
// ours, harness-noop, the floor and the codec, and the own cost's median and its
// minimum and maximum over the runs (each run's own cost from that run's values).
func (res results) printOwn(w io.Writer) {
	var names []string
	for s := range res {
		if _, _, _, ok := ownParts(parseName(s)); ok {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	fmt.Fprintln(w, "Own cost: ours − harness-noop − floor − codec, per run, in ns; allocs over harness-noop (medians).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| backend | op | mode | ours | noop | floor | codec | own (median) | own min…max | allocs over noop |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range names {
		n := parseName(s)
		noop, floor, codec, _ := ownParts(n)
		med := func(b string) string {
			if b == "" {
				return "-"
			}
			v, ok := res.median(b, "ns/op")
			if !ok {
				return "n/a"
			}
			return fmtNs(v)
		}
		var codecNs float64
		codecCol := "-"
		for _, c := range codec {
			v, ok := res.median(c, "ns/op")
			if !ok {
				codecCol = "n/a"
				break
			}
			codecNs += v
			codecCol = fmtNs(codecNs)
		}
		ownCol, spread := "n/a", "n/a"
		if own, ok := res.own(s); ok {
			ownCol = fmtNs(median(own))
			spread = fmtNs(slices.Min(own)) + "…" + fmtNs(slices.Max(own))
		}
		allocs := "n/a"
		if a, ok := res.allocsOverNoop(s); ok {
			allocs = strconv.FormatFloat(a, 'f', 0, 64)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			n.keys["backend"], n.keys["op"], n.keys["mode"], med(s), med(noop), med(floor), codecCol, ownCol, spread, allocs)
	}
}

// ownReadTarget and untouchedAllocs are the goals: the session layer's own cost on a
// memory or cookie read under half a microsecond, and at most one allocation more than
// harness-noop on a request that never asks for its session.
const (
	ownReadTarget   = 500 // ns
	untouchedAllocs = 1
)

// goals prints the goals, each with what was measured, met or missed.
func (res results) goals(w io.Writer) {
	fmt.Fprintln(w, "| goal | mode | measured | target | |")
	fmt.Fprintln(w, "|---|---|---:|---:|---|")
	verdict := func(met bool) string {
		if met {
			return "met"
		}
		return "**missed**"
	}
	for _, mode := range []string{"seq", "par"} {
		for _, be := range []string{"memory", "memory-gojson", "memory-binary", "cookie", "cookie-gojson", "cookie-binary"} {
			s := fmt.Sprintf("Request/backend=%s/op=read/mode=%s", be, mode)
			goal := be + " read: own cost (ns)"
			own, ok := res.own(s)
			if !ok {
				fmt.Fprintf(w, "| %s | %s | n/a | < %d | not measured |\n", goal, mode, ownReadTarget)
				continue
			}
			m := median(own)
			fmt.Fprintf(w, "| %s | %s | %s | < %d | %s |\n", goal, mode, fmtNs(m), ownReadTarget, verdict(m < ownReadTarget))
		}
	}
	var untouched []string
	for s := range res {
		n := parseName(s)
		if _, _, _, ok := ownParts(n); ok && n.keys["op"] == "untouched" {
			untouched = append(untouched, s)
		}
	}
	sort.Slice(untouched, func(i, j int) bool {
		a, b := parseName(untouched[i]), parseName(untouched[j])
		if a.keys["mode"] != b.keys["mode"] {
			return a.keys["mode"] > b.keys["mode"] // seq first
		}
		return a.keys["backend"] < b.keys["backend"]
	})
	for _, s := range untouched {
		n := parseName(s)
		goal := n.keys["backend"] + " untouched: allocs over harness-noop"
		a, ok := res.allocsOverNoop(s)
		if !ok {
			fmt.Fprintf(w, "| %s | %s | n/a | ≤ %d | not measured |\n", goal, n.keys["mode"], untouchedAllocs)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | ≤ %d | %s |\n", goal, n.keys["mode"], a, untouchedAllocs, verdict(a <= untouchedAllocs))
	}
}
