package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"sort"
	"strings"
)

// Plain fields. gqlgen resolves every field through graphql.ResolveField: a
// FieldContext and its Child closure, a context.WithValue, the closures it
// is handed, the resolver middleware and the result boxed into an any. For
// a scalar or enum read straight from a struct field, all of that only
// surrounds obj.X: nothing can fail, wait or panic, and no field has a
// child to give a path to. In the every-field query of one order such
// fields are 78 of 97, and that machinery was 38% of its allocations.
//
// plainFields makes each such field marshal obj.X directly. A field is
// plain only when the generated code shows all of this:
//   - its field context is graphql.NewScalarFieldContext, neither method
//     nor resolver (so a scalar or enum with no arguments: a field with
//     arguments parses them there);
//   - its resolver is `return obj.X, nil`, a struct field;
//   - it has no directive middleware (ResolveField's middleware is nil);
//   - its marshaller neither reads the field context from ctx nor can
//     answer null for a value: either it reports a null only after one of
//     the scalar functions below, which never return one, or it reports
//     nothing. That leaves out lists (their marshallers pass ctx on to
//     each element's) and non-null pointers (a nil is reported at the
//     field's own path), as well as scalars that may fail.
//
// What such a field gives up is what it never used: field interceptors
// (AroundFields) no longer see it, so one that must see every field cannot
// be added without taking this out. The server's only one, tracing's,
// looks at root resolvers alone.
//
// neverNull are the scalar marshal functions that always write a value.
var neverNull = map[string]bool{
	"graphql.MarshalString": true, "graphql.MarshalID": true, "graphql.MarshalBoolean": true,
	"graphql.MarshalInt": true, "graphql.MarshalInt32": true, "graphql.MarshalInt64": true,
	"scalar.MarshalUint64ID": true, "scalar.MarshalDateTime": true,
}

// plainFields rewrites the plain fields of gqlgen's output (see above) and
// returns the result with their resolver names, sorted.
func plainFields(src []byte) ([]byte, []string, error) {
	fset, file, err := parse(src)
	if err != nil {
		return nil, nil, err
	}
	decls := methods(file)
	type edit struct {
		from, to int
		text     string
		name     string
	}
	var edits []edit
	for name, fn := range decls {
		read, marshal, ok := plainField(decls, fn)
		if !ok {
			continue
		}
		var x bytes.Buffer
		if err := format.Node(&x, token.NewFileSet(), read); err != nil {
			return nil, nil, err
		}
		body := fmt.Sprintf("{\n\treturn ec.%s(ctx, field.Selections, %s)\n}", marshal, x.String())
		edits = append(edits, edit{fset.Position(fn.Body.Pos()).Offset, fset.Position(fn.Body.End()).Offset, body, name})
	}
	if len(edits) == 0 {
		return nil, nil, errors.New("no plain field to rewrite: gqlgen's code changed shape, or it is rewritten already")
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].from < edits[j].from })
	var out bytes.Buffer
	var names []string
	last := 0
	for _, e := range edits {
		out.Write(src[last:e.from])
		out.WriteString(e.text)
		last = e.to
		names = append(names, e.name)
	}
	out.Write(src[last:])
	formatted, err := format.Source(out.Bytes())
	sort.Strings(names)
	return formatted, names, err
}

// plainField reports whether fn is the resolver of a plain field, in
// gqlgen's shape, and if so the struct read and the marshaller it calls.
func plainField(decls map[string]*ast.FuncDecl, fn *ast.FuncDecl) (read ast.Expr, marshal string, ok bool) {
	// Introspection's objects (___Type_name) are gqlgen's own.
	if !strings.HasPrefix(fn.Name.Name, "_") || strings.HasPrefix(fn.Name.Name, "___") {
		return nil, "", false
	}
	call, ok := onlyReturn(fn.Body).(*ast.CallExpr)
	if !ok || !isSelector(call.Fun, "graphql", "ResolveField") || len(call.Args) != 9 {
		return nil, "", false
	}
	args := call.Args
	// args[3]: the field context, graphql.NewScalarFieldContext(object,
	// field, isMethod, isResolver, type) with both flags false.
	fcName, ok := ecCall(onlyReturn(funcLitBody(args[3])))
	if !ok || decls[fcName] == nil {
		return nil, "", false
	}
	fc, ok := onlyReturn(decls[fcName].Body).(*ast.CallExpr)
	if !ok || !isSelector(fc.Fun, "graphql", "NewScalarFieldContext") || len(fc.Args) != 5 || !isIdent(fc.Args[2], "false") || !isIdent(fc.Args[3], "false") {
		return nil, "", false
	}
	// args[4]: the resolver, `return obj.X, nil`.
	ret, ok := only[*ast.ReturnStmt](funcLitBody(args[4]))
	if !ok || len(ret.Results) != 2 || !isIdent(ret.Results[1], "nil") {
		return nil, "", false
	}
	if sel, ok := ret.Results[0].(*ast.SelectorExpr); !ok || !isIdent(sel.X, "obj") {
		return nil, "", false
	}
	// args[5]: no directive middleware.
	if !isIdent(args[5], "nil") {
		return nil, "", false
	}
	// args[6]: func(ctx, selections, v T) { return ec.marshal…(ctx, selections, v) }.
	lit, ok := args[6].(*ast.FuncLit)
	if !ok {
		return nil, "", false
	}
	marshal, ok = ecCall(onlyReturn(lit.Body))
	if !ok || decls[marshal] == nil || !safeMarshal(decls[marshal]) {
		return nil, "", false
	}
	return ret.Results[0], marshal, true
}

// safeMarshal reports whether a scalar marshaller may run without the
// field's own context: it uses ctx only to report a null that one of the
// neverNull functions cannot produce, or not at all.
func safeMarshal(fn *ast.FuncDecl) bool {
	var produced string
	reportsNull, otherUse := false, false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && isIdent(n.Lhs[0], "_") && isIdent(n.Rhs[0], "ctx") {
				return false // `_ = ctx`: gqlgen's way of not using it
			}
			if len(n.Lhs) == 1 && isIdent(n.Lhs[0], "res") && len(n.Rhs) == 1 {
				if c, ok := n.Rhs[0].(*ast.CallExpr); ok {
					if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
						if pkg, ok := sel.X.(*ast.Ident); ok {
							produced = pkg.Name + "." + sel.Sel.Name
						}
					}
				}
			}
		case *ast.CallExpr:
			if isSelector(n.Fun, "graphql", "AddInvalidNullFromMarshaler") {
				reportsNull = true
				return false
			}
		case *ast.Ident:
			if n.Name == "ctx" {
				otherUse = true
			}
		}
		return true
	})
	return !otherUse && (!reportsNull || neverNull[produced])
}

// onlyReturn is the single value a body of one return statement returns.
func onlyReturn(body *ast.BlockStmt) ast.Expr {
	ret, ok := only[*ast.ReturnStmt](body)
	if !ok || len(ret.Results) != 1 {
		return nil
	}
	return ret.Results[0]
}

func only[S ast.Stmt](body *ast.BlockStmt) (S, bool) {
	var zero S
	if body == nil || len(body.List) != 1 {
		return zero, false
	}
	s, ok := body.List[0].(S)
	return s, ok
}

func funcLitBody(e ast.Expr) *ast.BlockStmt {
	if lit, ok := e.(*ast.FuncLit); ok {
		return lit.Body
	}
	return nil
}

// ecCall returns the name of the executionContext method e calls.
func ecCall(e ast.Expr) (string, bool) {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return "", false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || !isIdent(sel.X, "ec") {
		return "", false
	}
	return sel.Sel.Name, true
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
