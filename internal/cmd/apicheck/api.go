package main

import (
	"go/constant"
	"go/types"
	"sort"
	"strconv"
	"strings"
)

// packageAPI returns the exported API of pkg, one feature a line, sorted. Each line
// starts with "pkg IMPORTPATH, ".
func packageAPI(pkg *types.Package) []string {
	w := &apiWriter{pkg: pkg, prefix: "pkg " + pkg.Path() + ", "}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.Const:
			w.constant(obj)
		case *types.Var:
			w.emit("var " + obj.Name() + " " + w.typ(obj.Type()))
		case *types.Func:
			sig := obj.Type().(*types.Signature)
			w.emit("func " + obj.Name() + w.typeParams(sig.TypeParams()) + w.signature(sig))
		case *types.TypeName:
			w.typeName(obj)
		}
	}
	sort.Strings(w.lines)
	out := w.lines[:0]
	for i, l := range w.lines {
		if i == 0 || l != w.lines[i-1] {
			out = append(out, l)
		}
	}
	return out
}

type apiWriter struct {
	pkg    *types.Package
	prefix string
	lines  []string
}

func (w *apiWriter) emit(feature string) {
	w.lines = append(w.lines, w.prefix+feature)
}

// constant writes "const Name Type = value"; the type of an untyped constant is
// written "untyped int" and so on.
func (w *apiWriter) constant(c *types.Const) {
	w.emit("const " + c.Name() + " " + w.typ(c.Type()) + " = " + constValue(c.Val()))
}

// constValue writes v exactly: a float as a decimal when a float64 holds it
// exactly (1.5), as a fraction otherwise (1/10).
func constValue(v constant.Value) string {
	if v.Kind() == constant.Float {
		if f, exact := constant.Float64Val(v); exact {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	return v.ExactString()
}

func (w *apiWriter) typeName(obj *types.TypeName) {
	if obj.IsAlias() {
		alias, ok := obj.Type().(*types.Alias)
		if !ok { // an alias of a predeclared type, as in type X = int without aliases on
			w.emit("type " + obj.Name() + " = " + w.typ(obj.Type()))
			return
		}
		w.emit("type " + obj.Name() + w.typeParams(alias.TypeParams()) + " = " + w.typ(alias.Rhs()))
		return
	}
	named, ok := obj.Type().(*types.Named)
	if !ok {
		return
	}
	decl := "type " + obj.Name() + w.typeParams(named.TypeParams())
	switch u := named.Underlying().(type) {
	case *types.Struct:
		w.emit(decl + " struct")
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			switch {
			case f.Embedded():
				// Embedded fields are listed even when unexported: their
				// exported fields and methods are promoted.
				w.emit(decl + " struct, embedded " + w.typ(f.Type()))
			case f.Exported():
				w.emit(decl + " struct, " + f.Name() + " " + w.typ(f.Type()))
			}
		}
	case *types.Interface:
		w.iface(decl, u)
		return // its methods are the interface's, listed by iface
	default:
		w.emit(decl + " " + w.typ(u))
	}
	w.methods(obj.Name(), named)
}

// iface lists the features of the interface type declared by decl: a summary line
// with the names of its exported methods, one line per method of its method set
// (its own and those of the interfaces it embeds), one per embedded type or union as
// written, and "unexported methods" when it has some, since then no other package
// can implement it.
func (w *apiWriter) iface(decl string, it *types.Interface) {
	var names []string
	unexported := false
	for i := 0; i < it.NumMethods(); i++ {
		m := it.Method(i)
		if !m.Exported() {
			unexported = true
			continue
		}
		names = append(names, m.Name())
		w.emit(decl + " interface, " + m.Name() + w.signature(m.Type().(*types.Signature)))
	}
	sort.Strings(names)
	if len(names) == 0 {
		w.emit(decl + " interface")
	} else {
		w.emit(decl + " interface { " + strings.Join(names, ", ") + " }")
	}
	if unexported {
		w.emit(decl + " interface, unexported methods")
	}
	for i := 0; i < it.NumEmbeddeds(); i++ {
		e := it.EmbeddedType(i)
		if _, ok := e.(*types.Union); ok {
			w.emit(decl + " interface, " + w.typ(e))
		} else {
			w.emit(decl + " interface, embedded " + w.typ(e))
		}
	}
}

// methods lists the exported methods callable on a value of the named type and
// on a pointer to it, promoted ones included: "method (T) M(...)" for the value's
// method set, "method (*T) M(...)" for those only a pointer has.
func (w *apiWriter) methods(name string, named *types.Named) {
	recv := name
	if tps := named.TypeParams(); tps.Len() > 0 {
		var b strings.Builder
		b.WriteString("[")
		for i := 0; i < tps.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(i))
		}
		b.WriteString("]")
		recv += b.String()
	}
	value := types.NewMethodSet(named)
	inValue := map[string]bool{}
	for i := 0; i < value.Len(); i++ {
		m := value.At(i).Obj()
		inValue[m.Name()] = true
		if m.Exported() {
			w.emit("method (" + recv + ") " + m.Name() + w.signature(m.Type().(*types.Signature)))
		}
	}
	ptr := types.NewMethodSet(types.NewPointer(named))
	for i := 0; i < ptr.Len(); i++ {
		m := ptr.At(i).Obj()
		if m.Exported() && !inValue[m.Name()] {
			w.emit("method (*" + recv + ") " + m.Name() + w.signature(m.Type().(*types.Signature)))
		}
	}
}

// typeParams writes a type parameter list, "[$0 any, $1 comparable]", or "".
func (w *apiWriter) typeParams(tps *types.TypeParamList) string {
	if tps.Len() == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < tps.Len(); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		tp := tps.At(i)
		b.WriteString("$" + strconv.Itoa(tp.Index()) + " ")
		w.writeType(&b, tp.Constraint())
	}
	b.WriteString("]")
	return b.String()
}

// signature writes the parameters and results of sig, without names:
// "(context.Context, string) (Record, bool, error)".
func (w *apiWriter) signature(sig *types.Signature) string {
	var b strings.Builder
	w.writeSignature(&b, sig)
	return b.String()
}

func (w *apiWriter) writeSignature(b *strings.Builder, sig *types.Signature) {
	b.WriteString("(")
	params := sig.Params()
	for i := 0; i < params.Len(); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		t := params.At(i).Type()
		if sig.Variadic() && i == params.Len()-1 {
			b.WriteString("...")
			if s, ok := t.(*types.Slice); ok {
				t = s.Elem()
			}
		}
		w.writeType(b, t)
	}
	b.WriteString(")")
	results := sig.Results()
	switch results.Len() {
	case 0:
	case 1:
		b.WriteString(" ")
		w.writeType(b, results.At(0).Type())
	default:
		b.WriteString(" (")
		for i := 0; i < results.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			w.writeType(b, results.At(i).Type())
		}
		b.WriteString(")")
	}
}

func (w *apiWriter) typ(t types.Type) string {
	var b strings.Builder
	w.writeType(&b, t)
	return b.String()
}

// writeType writes t in one canonical spelling: aliases resolved (any is the empty
// interface, written any), byte and rune as uint8 and int32, type parameters as $N,
// named types of other packages qualified by their import path.
func (w *apiWriter) writeType(b *strings.Builder, t types.Type) {
	t = types.Unalias(t)
	switch t := t.(type) {
	case *types.Basic:
		switch {
		case t.Kind() == types.UnsafePointer:
			b.WriteString("unsafe.Pointer")
		case t.Kind() == types.Invalid:
			b.WriteString("invalid type")
		default:
			b.WriteString(types.Typ[t.Kind()].Name())
		}
	case *types.Pointer:
		b.WriteString("*")
		w.writeType(b, t.Elem())
	case *types.Slice:
		b.WriteString("[]")
		w.writeType(b, t.Elem())
	case *types.Array:
		b.WriteString("[" + strconv.FormatInt(t.Len(), 10) + "]")
		w.writeType(b, t.Elem())
	case *types.Map:
		b.WriteString("map[")
		w.writeType(b, t.Key())
		b.WriteString("]")
		w.writeType(b, t.Elem())
	case *types.Chan:
		switch t.Dir() {
		case types.SendRecv:
			b.WriteString("chan ")
			// chan (<-chan T) needs its parentheses.
			if c, ok := types.Unalias(t.Elem()).(*types.Chan); ok && c.Dir() == types.RecvOnly {
				b.WriteString("(")
				w.writeType(b, c)
				b.WriteString(")")
				return
			}
		case types.SendOnly:
			b.WriteString("chan<- ")
		case types.RecvOnly:
			b.WriteString("<-chan ")
		}
		w.writeType(b, t.Elem())
	case *types.Signature:
		b.WriteString("func")
		w.writeSignature(b, t)
	case *types.Struct:
		w.writeStruct(b, t)
	case *types.Interface:
		w.writeInterface(b, t)
	case *types.Union:
		for i := 0; i < t.Len(); i++ {
			if i > 0 {
				b.WriteString(" | ")
			}
			term := t.Term(i)
			if term.Tilde() {
				b.WriteString("~")
			}
			w.writeType(b, term.Type())
		}
	case *types.TypeParam:
		b.WriteString("$" + strconv.Itoa(t.Index()))
	case *types.Named:
		obj := t.Obj()
		if obj.Pkg() != nil && obj.Pkg() != w.pkg {
			b.WriteString(obj.Pkg().Path() + ".")
		}
		b.WriteString(obj.Name())
		if args := t.TypeArgs(); args.Len() > 0 {
			b.WriteString("[")
			for i := 0; i < args.Len(); i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				w.writeType(b, args.At(i))
			}
			b.WriteString("]")
		} else if tps := t.TypeParams(); tps.Len() > 0 {
			// The generic type itself, not an instance of it.
			b.WriteString("[")
			for i := 0; i < tps.Len(); i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(i))
			}
			b.WriteString("]")
		}
	case *types.Tuple:
		b.WriteString("(")
		for i := 0; i < t.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			w.writeType(b, t.At(i).Type())
		}
		b.WriteString(")")
	default:
		b.WriteString(types.TypeString(t, func(p *types.Package) string { return p.Path() }))
	}
}

// writeStruct writes a struct type literal with all its fields, exported or not,
// and their tags, since they all make its identity.
func (w *apiWriter) writeStruct(b *strings.Builder, s *types.Struct) {
	if s.NumFields() == 0 {
		b.WriteString("struct{}")
		return
	}
	b.WriteString("struct{ ")
	for i := 0; i < s.NumFields(); i++ {
		if i > 0 {
			b.WriteString("; ")
		}
		f := s.Field(i)
		if !f.Embedded() {
			b.WriteString(f.Name() + " ")
		}
		w.writeType(b, f.Type())
		if tag := s.Tag(i); tag != "" {
			b.WriteString(" " + strconv.Quote(tag))
		}
	}
	b.WriteString(" }")
}

// writeInterface writes an interface type literal. The empty interface is "any"; a
// constraint that only embeds one type, term or union, such as ~[]$1 or
// interface{ comparable }, is written as what it embeds; an interface of methods
// only is written with its whole method set, sorted, whatever it embeds; any other
// keeps its embedded types as written.
func (w *apiWriter) writeInterface(b *strings.Builder, it *types.Interface) {
	if it.Empty() {
		b.WriteString("any")
		return
	}
	if !it.IsMethodSet() && it.NumExplicitMethods() == 0 && it.NumEmbeddeds() == 1 {
		w.writeType(b, it.EmbeddedType(0))
		return
	}
	var items []string
	if !it.IsMethodSet() {
		for i := 0; i < it.NumEmbeddeds(); i++ {
			items = append(items, w.typ(it.EmbeddedType(i)))
		}
		for i := 0; i < it.NumExplicitMethods(); i++ {
			m := it.ExplicitMethod(i)
			items = append(items, m.Name()+w.signature(m.Type().(*types.Signature)))
		}
	} else {
		for i := 0; i < it.NumMethods(); i++ {
			m := it.Method(i)
			items = append(items, m.Name()+w.signature(m.Type().(*types.Signature)))
		}
	}
	sort.Strings(items)
	b.WriteString("interface{ " + strings.Join(items, "; ") + " }")
}
