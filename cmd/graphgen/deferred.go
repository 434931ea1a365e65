package main

import (
	"bytes"
	"errors"
	"go/ast"
	"go/format"
	"go/token"
	"sort"
)

// Unused deferred groups. gqlgen's marshaller of every object starts with
// deferred := graphql.NewDeferredGroup(ctx) and ends by handing the group
// on if it holds any @defer fragment. Only a field gqlgen resolves
// concurrently (a resolver's) ever adds one, so for an object of struct
// fields alone the group is always empty; it is built all the same, for
// every such object of every response: the object's path, walked up from
// the field context and allocated, a FieldSet and a map. In the every-field query of
// one order that was 14% of the allocations left once plain fields (see
// plain.go) had gone.
//
// dropDeferred removes both statements from each function where the group
// is used by nothing else: the function names `deferred` three times, in
// the group's declaration, in `if n := len(deferred.Defers); n > 0` and in
// that if's hand-over. Its answers cannot change: an empty group's if
// never runs. Objects with a field that may be deferred (a resolver's,
// which ResolveConcurrently may add to the group) name it once more and
// keep it. The hand-over's bound is what imports math; an object with a
// resolver keeps that import in use.
func dropDeferred(src []byte) ([]byte, error) {
	fset, file, err := parse(src)
	if err != nil {
		return nil, err
	}
	var cuts []span
	cut := func(n ast.Node) {
		from, to := fset.Position(n.Pos()).Offset, fset.Position(n.End()).Offset
		for to < len(src) && src[to] == '\n' { // and the blank line after
			to++
		}
		cuts = append(cuts, span{from, to})
	}
	for _, fn := range methods(file) {
		decl, use := unusedDeferred(fn.Body)
		if decl != nil {
			cut(decl)
			cut(use)
		}
	}
	if len(cuts) == 0 {
		return nil, errors.New("no unused deferred group to drop: gqlgen's code changed shape, or they are dropped already")
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].from < cuts[j].from })
	var out bytes.Buffer
	last := 0
	for _, c := range cuts {
		out.Write(src[last:c.from])
		last = c.to
	}
	out.Write(src[last:])
	return format.Source(out.Bytes())
}

// span is a part of the source, by byte offsets.
type span struct{ from, to int }

// unusedDeferred returns, in a body of gqlgen's object marshaller shape,
// the deferred group's declaration and the if that hands it on, when those
// are its only uses; nil otherwise.
func unusedDeferred(body *ast.BlockStmt) (decl, use ast.Stmt) {
	uses := 0
	ast.Inspect(body, func(n ast.Node) bool {
		if isIdent(asExpr(n), "deferred") {
			uses++
		}
		return true
	})
	if uses != 3 {
		return nil, nil
	}
	for _, s := range body.List {
		switch s := s.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE && len(s.Lhs) == 1 && isIdent(s.Lhs[0], "deferred") && len(s.Rhs) == 1 {
				if c, ok := s.Rhs[0].(*ast.CallExpr); ok && isSelector(c.Fun, "graphql", "NewDeferredGroup") {
					decl = s
				}
			}
		case *ast.IfStmt:
			// if n := len(deferred.Defers); n > 0 { …; ec.ProcessDeferredGroup(deferred) }
			init, ok := s.Init.(*ast.AssignStmt)
			if !ok || len(init.Rhs) != 1 {
				continue
			}
			if c, ok := init.Rhs[0].(*ast.CallExpr); ok && isIdent(c.Fun, "len") && len(c.Args) == 1 {
				if sel, ok := c.Args[0].(*ast.SelectorExpr); ok && isIdent(sel.X, "deferred") && sel.Sel.Name == "Defers" {
					use = s
				}
			}
		}
	}
	if decl == nil || use == nil {
		return nil, nil
	}
	return decl, use
}

func asExpr(n ast.Node) ast.Expr {
	e, _ := n.(ast.Expr)
	return e
}
