package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// Of gqlgen's shapes of field resolvers, only a struct field of a scalar
// or enum, with no arguments, directive or list, nullable or not a
// pointer, marshalled by a marshaller that cannot need the field's own
// context, is rewritten; the rest stay as gqlgen wrote them.
func TestPlainFieldsRewritesOnlyPlainOnes(t *testing.T) {
	src, err := os.ReadFile("testdata/plain.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, names, err := plainFields(src)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"_T_plain", "_T_value"}; !slices.Equal(names, want) {
		t.Fatalf("rewritten %v, want %v", names, want)
	}
	_, file, err := parse(out)
	if err != nil {
		t.Fatal(err)
	}
	decls := methods(file)
	for name, want := range map[string]string{
		"_T_plain": "return ec.marshalOString2ᚖstring(ctx, field.Selections, obj.Plain)",
		"_T_value": "return ec.marshalNInt2int64(ctx, field.Selections, obj.Value)",
	} {
		if got := body(t, decls[name]); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	// Everything else is as it was.
	_, before, _ := parse(src)
	for name, fn := range methods(before) {
		if name != "_T_plain" && name != "_T_value" && body(t, decls[name]) != body(t, fn) {
			t.Errorf("%s was rewritten", name)
		}
	}
	// A second run has nothing left to do, and says so.
	if _, _, err := plainFields(out); err == nil {
		t.Error("plainFields rewrote its own output")
	}
}

func body(t *testing.T, fn *ast.FuncDecl) string {
	t.Helper()
	var b bytes.Buffer
	for _, s := range fn.Body.List {
		if err := format.Node(&b, token.NewFileSet(), s); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// unplain turns the committed executor's plain fields back into gqlgen's
// shape, from what each keeps: the struct read, the marshaller (whose
// parameter is gqlgen's type and whose N or O is the field's
// nullability) and the field context gqlgen names after the resolver.
func unplain(t *testing.T, src []byte) ([]byte, []string) {
	t.Helper()
	fset, file, err := parse(src)
	if err != nil {
		t.Fatal(err)
	}
	decls := methods(file)
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	var names []string
	for name, fn := range decls {
		call, ok := onlyReturn(fn.Body).(*ast.CallExpr)
		if !ok || len(call.Args) != 3 || !isIdent(call.Args[0], "ctx") {
			continue
		}
		marshal, ok := ecCall(call)
		if sel, isSel := call.Args[1].(*ast.SelectorExpr); !ok || !isSel || !isIdent(sel.X, "field") || sel.Sel.Name != "Selections" {
			continue
		}
		var read, typ bytes.Buffer
		_ = format.Node(&read, token.NewFileSet(), call.Args[2])
		_ = format.Node(&typ, token.NewFileSet(), decls[marshal].Type.Params.List[2].Type)
		nonNull := strings.HasPrefix(marshal, "marshalN")
		text := fmt.Sprintf(`{
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext%s(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return %s, nil
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v %s) graphql.Marshaler {
			return ec.%s(ctx, selections, v)
		},
		true,
		%t,
	)
}`, name, read.String(), typ.String(), marshal, nonNull)
		edits = append(edits, edit{fset.Position(fn.Body.Pos()).Offset, fset.Position(fn.Body.End()).Offset, text})
		names = append(names, name)
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.from - b.from })
	var out bytes.Buffer
	last := 0
	for _, e := range edits {
		out.Write(src[last:e.from])
		out.WriteString(e.text)
		last = e.to
	}
	out.Write(src[last:])
	slices.Sort(names)
	return out.Bytes(), names
}

// The committed executor is gqlgen's with its plain fields rewritten,
// those and nothing else; and they are the scalars and enums read from
// the domain's structs, not a root field, a loaded after-sale order, an
// object or a list.
func TestPlainFieldsOfTheSchema(t *testing.T) {
	src := generated(t)
	shaped, undone := unplain(t, src)
	out, names, err := plainFields(shaped)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, undone) {
		t.Fatalf("plain fields %v, want the committed executor's %v", names, undone)
	}
	if !bytes.Equal(out, src) {
		t.Fatal("the rewrite of gqlgen's output differs from the committed executor")
	}
	for _, want := range []string{"_Order_id", "_Order_status", "_Order_createTime", "_ProductInfo_title", "_ProductInfo_outProductId", "_PriceInfo_isChangeFreight"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s is not plain", want)
		}
	}
	for _, not := range []string{"_Query_order", "_AfterSaleOrderInfo_aftersaleOrder", "_Order_orderDetail", "_OrderDetail_productInfos", "_CouponInfo_couponId", "_OrderEdge_node", "___Type_name"} {
		if slices.Contains(names, not) {
			t.Errorf("%s is plain", not)
		}
	}
}
