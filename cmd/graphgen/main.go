// Command graphgen regenerates the GraphQL executor in graph/: gqlgen's own
// generation, then three changes to its output: lists that marshal in
// place (below), plain fields (see plain.go) and no unused deferred groups
// (see deferred.go).
//
//	go run ./cmd/graphgen
//
// gqlgen marshals every element of a list of objects in a goroutine of its
// own. Where nothing below the element can wait, that buys nothing and costs
// a goroutine, a stack to grow and later scan, and a wait per element: every
// product line of every order, for one. graphgen makes such lists marshal in
// place, through graph.marshalSliceInline.
//
// The rule is transitive. A list marshals in place only when no type
// reachable from its element (through fields, lists, and every possible type
// of an interface or union) has a field with a resolver or a context: such a
// field may wait on a request's dataloader, and a dataloader batches only
// the keys that arrive within its wait. Marshalled in place, the elements
// would reach it one after the other, each alone in a batch: 60 orders of a
// listOrders page asking for their after-sale orders would make 60 batch
// calls where 3 do. So lists of orders, edges and after-sale summaries keep
// gqlgen's concurrency, and lists of product lines, parcels and the like,
// whose fields are plain struct reads all the way down, do not.
//
// graphgen fails, leaving gqlgen's output as it is, when any change
// would rewrite nothing (gqlgen's code changed shape) or when a rewritten list can still
// reach a resolver in the generated code (checkInline, which reads the code
// rather than trusting the analysis).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
	gql "github.com/vektah/gqlparser/v2/ast"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "graphgen:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		return err
	}
	var lists recorder
	if err := api.Generate(cfg, api.AddPlugin(&lists)); err != nil {
		return err
	}
	src, err := os.ReadFile(cfg.Exec.Filename)
	if err != nil {
		return err
	}
	out, err := inlineLists(src, slices.Sorted(maps.Keys(lists.inline)))
	if err != nil {
		return err
	}
	if _, err := checkInline(out); err != nil {
		return err
	}
	out, plain, err := plainFields(out)
	if err != nil {
		return err
	}
	if out, err = dropDeferred(out); err != nil {
		return err
	}
	names := slices.Sorted(maps.Values(lists.inline))
	fmt.Printf("graphgen: %d lists marshal in place: %s\n", len(names), strings.Join(names, ", "))
	fmt.Printf("graphgen: %d plain fields marshal without ResolveField\n", len(plain))
	return os.WriteFile(cfg.Exec.Filename, out, 0o644)
}

// recorder is a gqlgen plugin that only notes which lists may marshal in
// place: their marshal functions, each with its GraphQL type.
type recorder struct{ inline map[string]string }

func (*recorder) Name() string { return "graphgen-recorder" }

func (r *recorder) GenerateCode(data *codegen.Data) error {
	types := map[string]typeInfo{}
	for _, o := range data.Objects {
		var t typeInfo
		for _, f := range o.Fields {
			t.waits = t.waits || mayWait(f)
			t.below = append(t.below, f.Type.Name())
		}
		types[o.Name] = t
	}
	for name := range data.Interfaces {
		var t typeInfo
		for _, impl := range data.Schema.GetPossibleTypes(data.Schema.Types[name]) {
			t.below = append(t.below, impl.Name)
		}
		types[name] = t
	}
	waits := waiting(types)
	r.inline = map[string]string{}
	for _, ref := range data.ReferencedTypes {
		switch ref.Definition.Kind {
		case gql.Object, gql.Interface, gql.Union:
			if ref.IsSlice() && !waits[ref.Definition.Name] {
				r.inline[ref.MarshalFunc()] = ref.GQL.String()
			}
		}
	}
	return nil
}

// mayWait reports whether marshalling f may block on something other than
// itself: a resolver (which may go through a dataloader), a method that
// takes a context, or a batch resolver. It holds even where gqlgen would run
// the field in line (an object with concurrency disabled): in line, it waits
// all the same.
func mayWait(f *codegen.Field) bool {
	return f.IsResolver || f.MethodHasContext || f.IsBatch()
}

// typeInfo is what the analysis needs of a type: whether one of its own
// fields may wait, and the types marshalling it goes on to (the named types
// of its fields; for an interface or union, its possible types).
type typeInfo struct {
	waits bool
	below []string
}

// waiting returns the types whose marshalling may wait, directly or through
// any type below them. Types not in types (scalars, enums) never wait.
// Cycles (an order's type reaching itself) are fine: it is the least fixed
// point, so a cycle waits only if something on or below it does.
func waiting(types map[string]typeInfo) map[string]bool {
	waits := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for name, t := range types {
			if waits[name] {
				continue
			}
			if t.waits || slices.ContainsFunc(t.below, func(b string) bool { return waits[b] }) {
				waits[name] = true
				changed = true
			}
		}
	}
	return waits
}

// inlineLists makes each of the named marshal functions, gqlgen's list
// marshallers, call marshalSliceInline where gqlgen calls
// graphql.MarshalSliceConcurrently. Each must hold exactly one such call: any
// other shape means gqlgen's code changed and this needs a look.
func inlineLists(src []byte, funcs []string) ([]byte, error) {
	if len(funcs) == 0 {
		return nil, errors.New("no list to marshal in place: every list of objects can reach a resolver, or gqlgen's types changed")
	}
	fset, file, err := parse(src)
	if err != nil {
		return nil, err
	}
	decls := methods(file)
	type edit struct{ from, to int }
	var edits []edit
	for _, name := range funcs {
		fn, ok := decls[name]
		if !ok {
			return nil, fmt.Errorf("%s: no such function in the generated code", name)
		}
		var calls []*ast.CallExpr
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok && isSelector(c.Fun, "graphql", "MarshalSliceConcurrently") && len(c.Args) == 5 {
				calls = append(calls, c)
			}
			return true
		})
		if len(calls) != 1 {
			return nil, fmt.Errorf("%s: %d calls of graphql.MarshalSliceConcurrently(ctx, n, limit, omitPanicHandler, f), want 1", name, len(calls))
		}
		// MarshalSliceConcurrently(ctx, n, limit, omit, f) becomes
		// marshalSliceInline(ctx, n, f): a worker limit means nothing in
		// place, and marshalSliceInline always recovers, as gqlgen does by
		// default.
		c := calls[0]
		edits = append(edits,
			edit{fset.Position(c.Fun.Pos()).Offset, fset.Position(c.Fun.End()).Offset},
			edit{fset.Position(c.Args[1].End()).Offset, fset.Position(c.Args[4].Pos()).Offset})
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].from < edits[j].from })
	var out bytes.Buffer
	last := 0
	for i, e := range edits {
		out.Write(src[last:e.from])
		if i%2 == 0 {
			out.WriteString("marshalSliceInline")
		} else {
			out.WriteString(", ")
		}
		last = e.to
	}
	out.Write(src[last:])
	return format.Source(out.Bytes())
}

// checkInline reads generated code and returns its lists that marshal in
// place (their marshal functions, sorted), or an error naming each that can
// reach, through the executionContext methods it calls, a resolver call or a
// field gqlgen schedules concurrently. It checks the output, not the
// analysis that chose the lists.
func checkInline(src []byte) ([]string, error) {
	_, file, err := parse(src)
	if err != nil {
		return nil, err
	}
	decls := methods(file)
	var inline []string
	var errs []error
	for name, fn := range decls {
		if !calls(fn, "marshalSliceInline") {
			continue
		}
		inline = append(inline, name)
		if route := reachWait(decls, name); route != nil {
			errs = append(errs, fmt.Errorf("%s marshals in place but can wait: %s", name, strings.Join(route, " → ")))
		}
	}
	sort.Strings(inline)
	return inline, errors.Join(errs...)
}

// reachWait returns a route of methods from start to one that calls a
// resolver or schedules a field concurrently, or nil if there is none.
func reachWait(decls map[string]*ast.FuncDecl, start string) []string {
	from := map[string]string{start: ""}
	queue := []string{start}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		var next []string
		waits := false
		ast.Inspect(decls[name].Body, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "Resolvers", "Concurrently", "ResolveConcurrently", "ResolveRootConcurrently":
				waits = true
			}
			if isSelector(sel, "ec", sel.Sel.Name) && decls[sel.Sel.Name] != nil {
				next = append(next, sel.Sel.Name)
			}
			return true
		})
		if waits {
			var route []string
			for n := name; n != ""; n = from[n] {
				route = append(route, n)
			}
			slices.Reverse(route)
			return route
		}
		for _, n := range next {
			if _, seen := from[n]; !seen {
				from[n] = name
				queue = append(queue, n)
			}
		}
	}
	return nil
}

func parse(src []byte) (*token.FileSet, *ast.File, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	return fset, file, err
}

// methods returns the executionContext methods of a generated file by name.
func methods(file *ast.File) map[string]*ast.FuncDecl {
	out := map[string]*ast.FuncDecl{}
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 || fn.Body == nil {
			continue
		}
		if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
			if id, ok := star.X.(*ast.Ident); ok && id.Name == "executionContext" {
				out[fn.Name.Name] = fn
			}
		}
	}
	return out
}

// calls reports whether fn calls the package-level function name.
func calls(fn *ast.FuncDecl, name string) bool {
	found := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if id, ok := c.Fun.(*ast.Ident); ok && id.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}
