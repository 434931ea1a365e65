package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// The lists of the served schema that marshal in place, as GraphQL types.
// A resolver added below one of them (a field that goes through a loader)
// must take it off this list: run go run ./cmd/graphgen and update it.
var wantInline = []string{
	"[AftersaleRejectReason!]!", "[AttrInfo!]!", "[DeliveryCompany!]!", "[DeliveryExpressFee!]!", "[DeliveryProductInfo!]!",
	"[FreightProductInfo!]!", "[ProductInfo!]!", "[ReturnAddress!]!", "[UserError!]!",
	"[__Directive!]!", "[__EnumValue!]", "[__Field!]", "[__InputValue!]", "[__InputValue!]!", "[__Type!]", "[__Type!]!",
}

func generated(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("../../graph/generated.go")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// listType turns a list marshaller's name back into its GraphQL type:
// gqlgen names it marshal + N|O (the list's nullability) + the element's
// name + 2 + the Go type, which starts ᚕ for a slice, + ᚄ if the elements
// are non-null.
func listType(fn string) string {
	key := strings.TrimPrefix(fn, "marshal")
	name, _, _ := strings.Cut(key[1:], "2ᚕ")
	t := "[" + name
	if strings.HasSuffix(key, "ᚄ") {
		t += "!"
	}
	t += "]"
	if key[0] == 'N' {
		t += "!"
	}
	return t
}

// The committed executor marshals exactly the expected lists in place, and
// none of them can reach a resolver. Orders, order edges and after-sale
// summaries are not among them: an after-sale order is loaded below each.
func TestInlineListsOfTheSchema(t *testing.T) {
	funcs, err := checkInline(generated(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fn := range funcs {
		got = append(got, listType(fn))
	}
	slices.Sort(got)
	if !slices.Equal(got, wantInline) {
		t.Fatalf("lists marshalled in place:\n%q\nwant\n%q", got, wantInline)
	}
}

// gqlgenShaped is the committed executor as gqlgen writes it, before
// graphgen.
func gqlgenShaped(src []byte) []byte {
	return bytes.ReplaceAll(src, []byte("marshalSliceInline(ctx, len(v), "), []byte("graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, "))
}

// Rewriting gqlgen's output for the lists the committed executor has in
// place gives back the committed executor; nothing else is touched.
func TestInlineListsRewritesOnlyThoseNamed(t *testing.T) {
	src := generated(t)
	funcs, err := checkInline(src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := inlineLists(gqlgenShaped(src), funcs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, src) {
		t.Fatal("the rewrite of gqlgen's output differs from the committed executor")
	}
}

// graphgen refuses to rewrite nothing, a function that is not there, and
// one that does not have gqlgen's shape.
func TestInlineListsRefusesWhatItCannotDo(t *testing.T) {
	src := generated(t)
	funcs, err := checkInline(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, fns := range map[string][]string{
		"nothing":        nil,
		"missing":        {"marshalNNoSuchType2ᚕstringᚄ"},
		"already inline": funcs[:1],
	} {
		if _, err := inlineLists(src, fns); err == nil {
			t.Errorf("%s: rewritten", name)
		}
	}
}

// A list of orders marshalled in place would reach the after-sale order
// resolver; the check reads that from the generated code and says how.
func TestCheckInlineFindsAResolverBelow(t *testing.T) {
	src := gqlgenShaped(generated(t))
	_, file, err := parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var orders string
	for fn := range methods(file) {
		if listType(fn) == "[Order]!" && strings.HasPrefix(fn, "marshalNOrder2ᚕ") {
			orders = fn
		}
	}
	if orders == "" {
		t.Fatal("no marshaller of [Order]! in the executor")
	}
	out, err := inlineLists(src, []string{orders})
	if err != nil {
		t.Fatal(err)
	}
	_, err = checkInline(out)
	if err == nil || !strings.Contains(err.Error(), orders+" marshals in place but can wait") || !strings.Contains(err.Error(), "→ _AfterSaleOrderInfo") {
		t.Fatalf("check of orders marshalled in place: %v", err)
	}
}

// The analysis is transitive, through lists, cycles and the possible types
// of interfaces and unions; a cycle with nothing waiting on it does not wait.
func TestWaiting(t *testing.T) {
	types := map[string]typeInfo{
		"Order":       {below: []string{"ID", "Detail", "AfterSale"}},
		"Detail":      {below: []string{"Line"}},
		"Line":        {below: []string{"String", "Attr"}},
		"Attr":        {below: []string{"String"}},
		"AfterSale":   {below: []string{"Info"}},
		"Info":        {waits: true, below: []string{"ID", "Record"}},
		"Record":      {below: []string{"String"}},
		"Edge":        {below: []string{"Order", "String"}},
		"Node":        {below: []string{"Record", "Order"}}, // an interface
		"Plain":       {below: []string{"Record", "Attr"}},  // a union
		"Schema":      {below: []string{"Type"}},
		"Type":        {below: []string{"Field", "Type"}},
		"Field":       {below: []string{"Type"}},
		"LoopBelow":   {below: []string{"Loop"}},
		"Loop":        {below: []string{"LoopBack", "Info"}},
		"LoopBack":    {below: []string{"Loop"}},
		"Unconnected": {},
	}
	got := waiting(types)
	want := []string{"AfterSale", "Edge", "Info", "Loop", "LoopBack", "LoopBelow", "Node", "Order"}
	var names []string
	for name, w := range got {
		if w {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("waiting: %v, want %v", names, want)
	}
}
