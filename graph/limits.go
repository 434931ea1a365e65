package graph

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits refuses, before execution, an operation that is too deep, has too
// many aliases, or would make more than MaxCost upstream fetches: each order,
// aftersaleOrder, listOrders or searchOrders field (alias or not) costs one, orders(ids:)
// one per id; an order field that asks for its after-sale orders costs twice
// that, and a page that does costs one more per order of the page. Where
// the family's lists answer ids only (PagesLoadOrders), a page also costs
// one per order of it: one list call and a get for each order. Every
// fetch is counted, repeats included, so the cost is known from the
// document alone.
// Introspection subtrees are exempt from the depth limit (GraphiQL's own
// introspection query nests type references a dozen levels deep).
type Limits struct {
	MaxCost, MaxDepth, MaxAliases int
	PagesLoadOrders               bool
}

// DefaultLimits are the limits unless told otherwise (MAX_QUERY_COST,
// MAX_QUERY_DEPTH, MAX_ALIASES).
func DefaultLimits() Limits { return Limits{MaxCost: 100, MaxDepth: 10, MaxAliases: 100} }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = Limits{}

func (Limits) ExtensionName() string                   { return "Limits" }
func (Limits) Validate(graphql.ExecutableSchema) error { return nil }

func (l Limits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	m := measure(oc, l.PagesLoadOrders)
	switch {
	case m.depth > l.MaxDepth:
		return refused(codes.DepthLimitExceeded, fmt.Sprintf("query is %d levels deep; the limit is %d", m.depth, l.MaxDepth), m.depth, l.MaxDepth)
	case m.aliases > l.MaxAliases:
		return refused(codes.AliasLimitExceeded, fmt.Sprintf("query has %d aliases; the limit is %d", m.aliases, l.MaxAliases), m.aliases, l.MaxAliases)
	case m.cost > l.MaxCost:
		return refused(codes.CostLimitExceeded, fmt.Sprintf("query would make %d upstream fetches; the limit is %d (each order or aftersaleOrder field and each orders(ids:) id counts one, twice when it asks for after-sale orders; a listOrders or searchOrders page one, plus one per order where the family fetches each listed order)", m.cost, l.MaxCost), m.cost, l.MaxCost)
	}
	return nil
}

func refused(code codes.Code, msg string, got, limit int) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	err.Extensions = map[string]any{"code": string(code), "value": got, "limit": limit}
	return err
}

// measures of a selection set: its depth below the set, the aliases and
// upstream fetches it contains, and whether it asks for after-sale orders.
type measures struct {
	depth, aliases, cost int
	aftersales           bool
}

// measure walks the operation of oc once.
func measure(oc *graphql.OperationContext, pagesLoadOrders bool) measures {
	w := walker{fragments: oc.Doc.Fragments, vars: oc.Variables, memo: map[string]measures{}, pagesLoadOrders: pagesLoadOrders}
	return w.selection(oc.Operation.SelectionSet, true)
}

// capped keeps sums of many fragment spreads from overflowing; anything
// this large is over every limit anyway.
const capped = 1 << 40

func (m *measures) add(o measures) {
	m.depth = max(m.depth, o.depth)
	m.aliases = min(m.aliases+o.aliases, capped)
	m.cost = min(m.cost+o.cost, capped)
	m.aftersales = m.aftersales || o.aftersales
}

// walker measures a document. Fragments are measured once each, so a
// document that spreads fragments into fragments costs linear time to
// check, however many times they expand.
type walker struct {
	fragments ast.FragmentDefinitionList
	vars      map[string]any
	memo      map[string]measures
	// pagesLoadOrders: a page is a list call and a get per order.
	pagesLoadOrders bool
}

// selection measures set; root says it is a selection on Query, where the
// order fields live.
func (w *walker) selection(set ast.SelectionSet, root bool) measures {
	var m measures
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			f := measures{}
			if sel.Alias != "" && sel.Alias != sel.Name {
				f.aliases = 1
			}
			introspection := sel.Name == "__schema" || sel.Name == "__type"
			if root {
				switch sel.Name {
				case "order", "aftersaleOrder":
					f.cost = 1
				case "orders":
					ids, _ := sel.ArgumentMap(w.vars)["ids"].([]any)
					f.cost = len(ids)
				case "listOrders", "searchOrders":
					f.cost = 1 // a page is one upstream call
					if w.pagesLoadOrders {
						f.cost += pageSize(sel, w.vars)
					}
				}
			} else if sel.Name == "aftersaleOrder" {
				f.aftersales = true
			}
			if len(sel.SelectionSet) > 0 {
				child := w.selection(sel.SelectionSet, false)
				if introspection {
					child.depth = 0
				}
				if root && child.aftersales {
					// The after-sale orders of these orders: batched, so at
					// most one call per order, a safe bound known now.
					if sel.Name == "listOrders" || sel.Name == "searchOrders" {
						f.cost += pageSize(sel, w.vars)
					} else {
						f.cost *= 2
					}
					child.aftersales = false
				}
				f.add(measures{depth: child.depth, aliases: child.aliases, cost: child.cost, aftersales: child.aftersales})
			}
			f.depth++
			m.add(f)
		case *ast.InlineFragment:
			m.add(w.selection(sel.SelectionSet, root))
		case *ast.FragmentSpread:
			m.add(w.fragment(sel.Name, root))
		}
	}
	return m
}

// pageSize is a list field's first argument, or its default.
func pageSize(sel *ast.Field, vars map[string]any) int {
	switch n := sel.ArgumentMap(vars)["first"].(type) {
	case int64:
		return int(n)
	case int:
		return n
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
	}
	return listing.DefaultFirst
}

func (w *walker) fragment(name string, root bool) measures {
	key := name
	if root {
		key += "@root"
	}
	if m, ok := w.memo[key]; ok {
		return m
	}
	w.memo[key] = measures{} // validation forbids cycles; this only guards
	var m measures
	if def := w.fragments.ForName(name); def != nil {
		m = w.selection(def.SelectionSet, root)
	}
	w.memo[key] = m
	return m
}
