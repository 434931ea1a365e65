package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/ordergraph/ordergraph/internal/order"
)

// servedSchema is the schema the server executes.
var servedSchema = NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()

// operation parses and validates doc against the served schema and
// coerces vars (JSON, numbers as json.Number, as the transports decode
// them) the way gqlgen does before the limits see the operation.
func operation(t *testing.T, doc string, vars any) *graphql.OperationContext {
	t.Helper()
	q, errs := gqlparser.LoadQuery(servedSchema, doc)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", doc, errs)
	}
	raw := map[string]any{}
	switch v := vars.(type) {
	case string:
		d := json.NewDecoder(strings.NewReader(v))
		d.UseNumber()
		if err := d.Decode(&raw); err != nil {
			t.Fatal(err)
		}
	case map[string]any:
		raw = v
	}
	op := q.Operations[0]
	coerced, err := validator.VariableValues(servedSchema, op, raw)
	if err != nil {
		t.Fatalf("%s %v: %v", doc, vars, err)
	}
	return &graphql.OperationContext{Doc: q, Operation: op, Variables: coerced}
}

const aftersales = `aftersaleDetail { aftersaleOrderList { aftersaleOrder { id } } }`

// The cost of each document, exactly: what it may fetch upstream.
func TestCosts(t *testing.T) {
	type family struct {
		limits Limits
		buyer  bool
	}
	storeLimits := Limits{PagesLoadOrders: true, ListWindow: 7 * 24 * time.Hour}
	var (
		minishop = family{}
		store    = family{limits: storeLimits}
		buyer    = family{buyer: true}
		storeBuy = family{limits: storeLimits, buyer: true}
	)
	page := func(field, args, node string) string {
		if field == "searchOrders" {
			args = `filter: {title: "x"}` + args
		}
		if args != "" {
			args = "(" + args + ")"
		}
		return "{ " + field + args + " { edges { node { id " + node + " } } } }"
	}
	pageVar := `query($n: Int) { listOrders(first: $n) { edges { node { id ` + aftersales + ` } } } }`
	for _, tc := range []struct {
		name string
		doc  string
		vars any
		fam  family
		cost int
	}{
		{"order", `{ order(id: "1") { id } }`, nil, minishop, 1},
		{"order with after-sale orders", `{ order(id: "1") { id ` + aftersales + ` } }`, nil, minishop, 2},
		{"aftersaleOrder", `{ aftersaleOrder(id: "1") { id } }`, nil, minishop, 1},
		{"orders of 3", `{ orders(ids: ["1", "2", "3"]) { id } }`, nil, minishop, 3},
		{"orders repeats counted", `{ orders(ids: ["1", "1"]) { id } }`, nil, minishop, 2},
		{"orders of none", `{ orders(ids: []) { id } }`, nil, minishop, 0},
		{"orders of one, not a list", `{ orders(ids: "7") { id } }`, nil, minishop, 1},
		{"orders of 3 with after-sale orders", `{ orders(ids: ["1", "2", "3"]) { id ` + aftersales + ` } }`, nil, minishop, 6},
		{"orders by variable", `query($ids: [ID!]!) { orders(ids: $ids) { id } }`, `{"ids": ["1", "2", "3", "4"]}`, minishop, 4},
		{"orders by variable, one not a list", `query($ids: [ID!]!) { orders(ids: $ids) { id } }`, `{"ids": "7"}`, minishop, 1},
		{"orders with a variable inside", `query($id: ID!) { orders(ids: ["1", $id]) { id } }`, `{"id": "2"}`, minishop, 2},
		{"aliases each count", `{ a: order(id: "1") { id } b: order(id: "2") { id } c: order(id: "1") { id } }`, nil, minishop, 3},
		{"inline fragment", `{ ... on Query { order(id: "1") { id } } }`, nil, minishop, 1},
		{"fragment spread twice", `{ ...F ...F } fragment F on Query { order(id: "1") { id } }`, nil, minishop, 2},
		{"fragments of fragments", `{ ...A } fragment A on Query { ...B ...B } fragment B on Query { x: order(id: "1") { id } orders(ids: ["1", "2"]) { id } }`, nil, minishop, 6},
		{"after-sale orders in a fragment", `{ order(id: "1") { ...S } } fragment S on Order { ` + aftersales + ` }`, nil, minishop, 2},
		{"after-sale orders in a fragment spread twice", `{ order(id: "1") { ...S ...S } } fragment S on Order { ` + aftersales + ` }`, nil, minishop, 2},

		{"list page", page("listOrders", "", ""), nil, minishop, 1},
		{"list page of 30", page("listOrders", "first: 30", ""), nil, minishop, 1},
		{"list page with after-sale orders, default first", page("listOrders", "", aftersales), nil, minishop, 1 + listing.DefaultFirst},
		{"list page of 30 with after-sale orders", page("listOrders", "first: 30", aftersales), nil, minishop, 31},
		{"search page of 10", page("searchOrders", ", first: 10", ""), nil, minishop, 1},
		{"search page of 10 with after-sale orders", page("searchOrders", ", first: 10", aftersales), nil, minishop, 11},
		{"first as a variable", pageVar, `{"n": 7}`, minishop, 8},
		{"first as a variable, not given", pageVar, nil, minishop, 1 + listing.DefaultFirst},
		{"first as a variable, null", pageVar, `{"n": null}`, minishop, 1 + listing.DefaultFirst},
		{"first as a float variable", pageVar, map[string]any{"n": float64(90)}, minishop, 91},
		{"negative first", page("listOrders", "first: -1000", aftersales), nil, minishop, 2},
		{"negative first lowers nothing else", `{ listOrders(first: -1000) { edges { node { ` + aftersales + ` } } } order(id: "1") { id } }`, nil, minishop, 3},
		{"huge first", page("listOrders", "first: 2000000000", aftersales), nil, minishop, 1 + listing.MaxFirst},
		{"huge first as a variable", pageVar, `{"n": 2147483647}`, minishop, 1 + listing.MaxFirst},
		{"two aliases of a page", `{ a: listOrders(first: 2) { edges { node { id } } } b: listOrders(first: 2) { edges { node { id } } } }`, nil, minishop, 2},

		// A Store page: a list call per 7 days of its range, one more to go
		// on within the window it starts in, and a get per order.
		{"Store list page", page("listOrders", "first: 10", ""), nil, store, 1 + 1 + 10},
		{"Store list page, default first", page("listOrders", "", ""), nil, store, 1 + 1 + listing.DefaultFirst},
		{"Store list page over 30 days", page("listOrders", `first: 10, filter: {createdFrom: "2024-05-01T00:00:00+08:00", createdTo: "2024-05-31T00:00:00+08:00"}`, ""), nil, store, 5 + 1 + 10},
		{"Store list page over exactly 7 days", page("listOrders", `first: 10, filter: {updatedFrom: "2024-05-01T00:00:00+08:00", updatedTo: "2024-05-08T00:00:00+08:00"}`, ""), nil, store, 1 + 1 + 10},
		{"Store list page over 366 days", page("listOrders", `first: 10, filter: {createdFrom: "2024-01-01T00:00:00+08:00", createdTo: "2025-01-01T00:00:00+08:00"}`, ""), nil, store, 53 + 1 + 10},
		{"Store list page over a range it refuses", page("listOrders", `first: 10, filter: {createdFrom: "2020-01-01T00:00:00+08:00", createdTo: "2025-01-01T00:00:00+08:00"}`, ""), nil, store, 53 + 1 + 10},
		{"Store list page from a variable range", `query($f: OrderListFilter) { listOrders(first: 10, filter: $f) { edges { node { id } } } }`, `{"f": {"createdFrom": "2024-05-01T00:00:00+08:00", "createdTo": "2024-05-15T00:00:00+08:00"}}`, store, 2 + 1 + 10},
		{"Store search page with after-sale orders", page("searchOrders", ", first: 10", aftersales), nil, store, 1 + 1 + 10 + 10},
		{"Store first as a variable", pageVar, `{"n": 5}`, store, 1 + 1 + 5 + 5},
		{"Store negative first", page("listOrders", "first: -5", ""), nil, store, 1 + 1 + 1},
		{"Store huge first", page("listOrders", "first: 101", ""), nil, store, 1 + 1 + listing.MaxFirst},
		{"Store order", `{ order(id: "1") { id } }`, nil, store, 1},

		{"buyer's list page scans", page("listOrders", "first: 10", ""), nil, buyer, listing.BuyerPages},
		{"buyer's search page with after-sale orders", page("searchOrders", ", first: 10", aftersales), nil, buyer, listing.BuyerPages + 10},
		{"buyer's order", `{ order(id: "1") { id } }`, nil, buyer, 1},
		{"buyer's Store page is one upstream page and one more get", page("listOrders", "first: 10", ""), nil, storeBuy, 1 + 1 + 10 + 1},

		{"orderEvents", `subscription { orderEvents { kind } }`, nil, minishop, 1},
		{"orderEvents with after-sale orders", `subscription { orderEvents { order { id ` + aftersales + ` } } }`, nil, minishop, 2},
		{"deliveryCompanies", `{ deliveryCompanies { deliveryId } }`, nil, minishop, 1},
		{"returnAddresses", `{ returnAddresses { id } }`, nil, store, 1 + order.MaxReturnAddresses},
		{"a mutation", `mutation { setMerchantNotes(input: {idempotencyKey: "k", orderId: "1", notes: "x"}) { replayed } }`, nil, minishop, 2},
		{"a mutation's order with after-sale orders", `mutation { shipOrder(input: {idempotencyKey: "k", orderId: "1", virtual: true}) { order { id ` + aftersales + ` } } }`, nil, store, 4},
		{"mutation aliases each count", `mutation { a: setMerchantNotes(input: {idempotencyKey: "a", orderId: "1", notes: "x"}) { replayed } b: setMerchantNotes(input: {idempotencyKey: "b", orderId: "1", notes: "x"}) { replayed } }`, nil, minishop, 4},
		{"__typename", `{ __typename }`, nil, minishop, 0},
		{"introspection", `{ __schema { queryType { name } } __type(name: "Order") { name } }`, nil, minishop, 0},
	} {
		m := measure(operation(t, tc.doc, tc.vars), tc.fam.limits, tc.fam.buyer)
		if m.cost != tc.cost {
			t.Errorf("%s: cost %d, want %d\n%s", tc.name, m.cost, tc.cost, tc.doc)
		}
	}
}

// Depth counts fields below the root, introspection excepted; aliases
// count each alias, however often a fragment spreads it.
func TestDepthAndAliases(t *testing.T) {
	for _, tc := range []struct {
		doc            string
		depth, aliases int
	}{
		{`{ order(id: "1") { id } }`, 2, 0},
		{`{ order(id: "1") { orderDetail { productInfos { skuAttrs { attrKey } } } } }`, 5, 0},
		{`{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }`, 1, 0},
		{`{ a: order(id: "1") { i: id } order: order(id: "2") { id } }`, 2, 2},
		{`{ ...F ...F } fragment F on Query { a: order(id: "1") { id } }`, 2, 2},
	} {
		m := measure(operation(t, tc.doc, nil), Limits{}, false)
		if m.depth != tc.depth || m.aliases != tc.aliases {
			t.Errorf("%s: depth %d, aliases %d; want %d, %d", tc.doc, m.depth, m.aliases, tc.depth, tc.aliases)
		}
	}
}

// The limits refuse what is over them, with the code, the value and the
// limit; the caller's role decides what a page of whole orders costs.
func TestLimitsRefuse(t *testing.T) {
	limits := Limits{MaxCost: 4, MaxDepth: 4, MaxAliases: 1}
	merchant := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant})
	buyer := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleBuyer, Openid: "o1"})
	list := `{ listOrders(first: 3) { edges { node { id } } } }`
	for _, tc := range []struct {
		ctx         context.Context
		doc         string
		code        string
		value, over int
	}{
		{merchant, list, "", 0, 0},
		{merchant, `{ orders(ids: ["1", "2", "3", "4"]) { id } }`, "", 0, 0},
		{merchant, `{ orders(ids: ["1", "2", "3", "4", "5"]) { id } }`, "COST_LIMIT_EXCEEDED", 5, 4},
		{buyer, list, "COST_LIMIT_EXCEEDED", listing.BuyerPages, 4},
		{context.Background(), list, "COST_LIMIT_EXCEEDED", listing.BuyerPages, 4},
		{merchant, `{ order(id: "1") { orderDetail { productInfos { skuAttrs { attrKey } } } } }`, "DEPTH_LIMIT_EXCEEDED", 5, 4},
		{merchant, `{ a: order(id: "1") { id } b: order(id: "2") { id } }`, "ALIAS_LIMIT_EXCEEDED", 2, 1},
	} {
		if tc.code == "" {
			oc := operation(t, tc.doc, nil)
			if err := limits.MutateOperationContext(tc.ctx, oc); err != nil || oc.Stats.GetExtension(costKey) == nil {
				t.Errorf("%s: refused (%v), or its cost not kept for the budget", tc.doc, err)
			}
			continue
		}
		err := limits.MutateOperationContext(tc.ctx, operation(t, tc.doc, nil))
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.doc, err)
		case tc.code == "":
		case err == nil:
			t.Errorf("%s: not refused", tc.doc)
		case err.Extensions["code"] != tc.code || err.Extensions["value"] != tc.value || err.Extensions["limit"] != tc.over:
			t.Errorf("%s: %v %v", tc.doc, err, err.Extensions)
		}
	}
}

// A page's first outside 1..100 is refused before anything runs, however
// it is given, and nothing else of the document is charged or run.
func TestFirstOutOfRangeIsRefusedBeforeExecution(t *testing.T) {
	limits := DefaultLimits()
	merchant := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant})
	for _, tc := range []struct {
		doc  string
		vars any
	}{
		{`{ listOrders(first: -2000000000) { edges { node { id } } } orders(ids: ["1"]) { id } }`, nil},
		{`{ searchOrders(filter: {title: "x"}, first: 0) { edges { node { id } } } }`, nil},
		{`{ listOrders(first: 101) { edges { node { id } } } }`, nil},
		{`query($n: Int) { a: order(id: "1") { id } listOrders(first: $n) { edges { node { id } } } }`, `{"n": -1}`},
		{`{ ...F } fragment F on Query { listOrders(first: -3) { edges { node { id } } } }`, nil},
	} {
		err := limits.MutateOperationContext(merchant, operation(t, tc.doc, tc.vars))
		if err == nil || err.Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(err.Message, "first must be 1..100") {
			t.Errorf("%s %s: %v", tc.doc, tc.vars, err)
		}
	}
}

// Every root field the server serves has a cost rule, so that none
// reaches the upstream uncharged.
func TestEveryRootFieldHasACostRule(t *testing.T) {
	for _, root := range []*ast.Definition{servedSchema.Query, servedSchema.Mutation, servedSchema.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if _, ok := rootCosts[f.Name]; !ok {
				t.Errorf("%s.%s has no cost rule in rootCosts", root.Name, f.Name)
			}
		}
	}
}

// A root field without a rule is refused, not free.
func TestRootFieldWithoutARuleIsRefused(t *testing.T) {
	oc := &graphql.OperationContext{
		Doc:       &ast.QueryDocument{},
		Operation: &ast.OperationDefinition{SelectionSet: ast.SelectionSet{&ast.Field{Name: "somethingNew"}}},
	}
	if err := DefaultLimits().MutateOperationContext(context.Background(), oc); err == nil || err.Extensions["code"] != "COST_LIMIT_EXCEEDED" {
		t.Fatalf("a root field without a cost rule: %v", err)
	}
}

// A document runs at most MaxActions order actions, however it spells
// them (aliases, fragments), before anything runs.
func TestTooManyActionsAreRefused(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxAliases = 1000
	merchant := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant, CanWrite: true})
	field := func(i int) string {
		return fmt.Sprintf(`a%d: setMerchantNotes(input: {idempotencyKey: "k%d", orderId: "1", notes: "x"}) { replayed } `, i, i)
	}
	doc := func(n int) string {
		var b strings.Builder
		b.WriteString("mutation { ")
		for i := range n {
			b.WriteString(field(i))
		}
		b.WriteString("}")
		return b.String()
	}
	if err := limits.MutateOperationContext(merchant, operation(t, doc(MaxActions), nil)); err != nil {
		t.Fatalf("%d actions: %v", MaxActions, err)
	}
	for _, d := range []string{
		doc(MaxActions + 1),
		`mutation { ...F ...F } fragment F on Mutation { ` + field(1) + field(2) + field(3) + field(4) + field(5) + field(6) + ` }`,
	} {
		err := limits.MutateOperationContext(merchant, operation(t, d, nil))
		if err == nil || err.Extensions["code"] != "COST_LIMIT_EXCEEDED" || err.Extensions["limit"] != MaxActions {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// Only a merchant with write permission passes a mutation; queries pass
// for anyone.
func TestWritePolicy(t *testing.T) {
	mutation := operation(t, `mutation { setMerchantNotes(input: {idempotencyKey: "k", orderId: "1", notes: "x"}) { replayed } }`, nil)
	query := operation(t, `{ order(id: "1") { id } }`, nil)
	for _, tc := range []struct {
		p    auth.Principal
		pass bool
	}{
		{auth.Principal{Role: auth.RoleMerchant, CanWrite: true}, true},
		{auth.Principal{Role: auth.RoleMerchant}, false},
		{auth.Principal{Role: auth.RoleBuyer, Openid: "o", CanWrite: true}, false},
		{auth.Principal{}, false},
	} {
		ctx := auth.WithPrincipal(context.Background(), tc.p)
		err := WritePolicy{}.MutateOperationContext(ctx, mutation)
		if (err == nil) != tc.pass || (err != nil && err.Extensions["code"] != "FORBIDDEN") {
			t.Errorf("%+v: %v", tc.p, err)
		}
		if err := (WritePolicy{}).MutateOperationContext(ctx, query); err != nil {
			t.Errorf("%+v query: %v", tc.p, err)
		}
	}
}

// The schema's UserErrorCode enum and internal/codes' user codes are the
// same set, in the same order.
func TestUserErrorCodesAreTheSchemas(t *testing.T) {
	enum := servedSchema.Types["UserErrorCode"]
	if len(enum.EnumValues) != len(codes.UserAll) {
		t.Fatalf("schema has %d user error codes, internal/codes %d", len(enum.EnumValues), len(codes.UserAll))
	}
	for i, v := range enum.EnumValues {
		if string(codes.UserAll[i].Code) != v.Name {
			t.Errorf("code %d: schema %s, internal/codes %s", i, v.Name, codes.UserAll[i].Code)
		}
	}
}
