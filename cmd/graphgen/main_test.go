package main

import (
	"strings"
	"testing"
)

// Only lists of objects without concurrent fields are rewritten; lists of
// objects with resolvers, and of enums and scalars, keep gqlgen's code.
func TestInlineLists(t *testing.T) {
	list := func(elem string) string {
		return "\tret := " + concurrent + "func(ctx context.Context, i int) graphql.Marshaler {\n\t\tfc := graphql.GetFieldContext(ctx)\n\t\treturn ec.marshalN" + elem + "2githubᚗcom(ctx, sel, v[i])\n\t})\n"
	}
	src := list("ProductInfo") + list("AfterSaleOrder") + list("__DirectiveLocation") + list("Unknown")
	out, n := inlineLists([]byte(src), map[string]bool{"ProductInfo": true, "AfterSaleOrder": false})
	if n != 1 || strings.Count(string(out), inline) != 1 || strings.Count(string(out), concurrent) != 3 {
		t.Fatalf("rewrote %d lists:\n%s", n, out)
	}
	if !strings.Contains(string(out), inline+"func(ctx context.Context, i int) graphql.Marshaler {\n\t\tfc := graphql.GetFieldContext(ctx)\n\t\treturn ec.marshalNProductInfo2") {
		t.Fatalf("the wrong list was rewritten:\n%s", out)
	}
}
