package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/listing"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits refuses, before execution, an operation that is too deep, has too
// many aliases, or would make more than MaxCost upstream fetches. Each root
// field has a cost rule (rootCosts): order and aftersaleOrder cost one,
// orders(ids:) one per id, a listOrders or searchOrders page one list call,
// or BuyerPages of them for a buyer, whose page scans that many upstream
// pages for their own orders; where the family's lists answer ids only
// (PagesLoadOrders), a page is one list call and a get per order of it,
// for a buyer too. orderEvents costs what one event costs: its order,
// fetched once per event. A root field that asks for after-sale orders
// costs twice its rule, a page one more per order of it. Every fetch is
// counted, repeats included, so the cost is known from the document and
// the caller's role alone.
// Introspection subtrees are exempt from the depth limit (GraphiQL's own
// introspection query nests type references a dozen levels deep).
type Limits struct {
	MaxCost, MaxDepth, MaxAliases int
	PagesLoadOrders               bool
	// ListWindow is the longest range one list call of the family covers
	// (0: any); a page walks its range in windows of it.
	ListWindow time.Duration
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

func (l Limits) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	// Who is not a merchant has pages filtered for them, as listRequest does.
	m := measure(oc, l, auth.FromContext(ctx).Role != auth.RoleMerchant)
	// Told to the client whether the operation runs or not (see Requested).
	oc.Stats.SetExtension(requestedKey, Requested{Cost: m.cost, Limit: l.MaxCost})
	switch {
	case m.badFirst != nil:
		err := gqlerror.Errorf("first must be 1..%d, got %d", listing.MaxFirst, *m.badFirst)
		err.Extensions = map[string]any{"code": string(codes.BadUserInput)}
		return err
	case m.depth > l.MaxDepth:
		return refused(codes.DepthLimitExceeded, fmt.Sprintf("query is %d levels deep; the limit is %d", m.depth, l.MaxDepth), m.depth, l.MaxDepth)
	case m.actions > MaxActions:
		return refused(codes.CostLimitExceeded, fmt.Sprintf("the document runs %d order actions; at most %d may run in one", m.actions, MaxActions), m.actions, MaxActions)
	case m.aliases > l.MaxAliases:
		return refused(codes.AliasLimitExceeded, fmt.Sprintf("query has %d aliases; the limit is %d", m.aliases, l.MaxAliases), m.aliases, l.MaxAliases)
	case m.cost > l.MaxCost:
		err := refused(codes.CostLimitExceeded, fmt.Sprintf("query would make %d upstream fetches; the limit is %d (each order or aftersaleOrder field and each orders(ids:) id counts one, twice when it asks for after-sale orders; a listOrders or searchOrders page one list call, or %d for a buyer, whose page scans that many upstream pages; where the family fetches each listed order, a list call per 7 days of the range, one more, and first gets; and one more per order of a page when it asks for their after-sale orders)", m.cost, l.MaxCost, listing.BuyerPages), m.cost, l.MaxCost)
		err.Extensions["cost"] = Requested{Cost: m.cost, Limit: l.MaxCost}
		return err
	}
	oc.Stats.SetExtension(costKey, charge{m.cost, m.aftersaleCost})
	return nil
}

const (
	costKey      = "ordergraph.cost"
	requestedKey = "ordergraph.requested"
)

// Requested is what Limits computed the operation's document costs and the
// limit it is held to (MAX_QUERY_COST): each response's extensions.cost,
// so that a client sees how close to the limit its documents are.
type Requested struct {
	Cost  int `json:"requested"`
	Limit int `json:"limit"`
}

// CostRequested is the Requested of the operation of ctx; ok is false when
// Limits did not measure it (a document refused before, such as one that
// does not parse).
func CostRequested(ctx context.Context) (r Requested, ok bool) {
	if !graphql.HasOperationContext(ctx) {
		return r, false
	}
	r, ok = graphql.GetOperationContext(ctx).Stats.GetExtension(requestedKey).(Requested)
	return r, ok
}

type charge struct{ total, aftersales int }

// Cost is what Limits charged the operation of ctx: the most upstream
// calls it may make, and how many of them fetch after-sale orders
// (package budget holds it to that); ok is false when Limits did not run.
func Cost(ctx context.Context) (total, aftersales int, ok bool) {
	if !graphql.HasOperationContext(ctx) {
		return 0, 0, false
	}
	c, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(costKey).(charge)
	return c.total, c.aftersales, ok
}

func refused(code codes.Code, msg string, got, limit int) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	err.Extensions = map[string]any{"code": string(code), "value": got, "limit": limit}
	return err
}

// MaxActions is the most mutation fields one document may hold.
const MaxActions = 10

// measures of a selection set: its depth below the set, the aliases and
// upstream fetches it contains, whether it asks for after-sale orders, and
// how many order actions it runs.
type measures struct {
	depth, aliases, cost, actions int
	aftersales                    bool
	// aftersaleCost is the part of cost that fetches after-sale orders.
	aftersaleCost int
	// badFirst is a page's first outside 1..MaxFirst, refused before
	// anything runs.
	badFirst *int
}

// measure walks the operation of oc once; buyer says the caller's pages
// are filtered for them.
func measure(oc *graphql.OperationContext, l Limits, buyer bool) measures {
	w := walker{fragments: oc.Doc.Fragments, vars: oc.Variables, memo: map[string]measures{}, pagesLoadOrders: l.PagesLoadOrders, window: l.ListWindow, now: time.Now(), buyer: buyer,
		mutation: oc.Operation.Operation == ast.Mutation}
	return w.selection(oc.Operation.SelectionSet, true)
}

// capped keeps sums of many fragment spreads from overflowing; anything
// this large is over every limit anyway.
const capped = 1 << 40

func (m *measures) add(o measures) {
	m.depth = max(m.depth, o.depth)
	m.aliases = min(m.aliases+o.aliases, capped)
	m.actions = min(m.actions+o.actions, capped)
	m.cost = min(m.cost+o.cost, capped)
	m.aftersaleCost = min(m.aftersaleCost+o.aftersaleCost, capped)
	m.aftersales = m.aftersales || o.aftersales
	if m.badFirst == nil {
		m.badFirst = o.badFirst
	}
}

// walker measures a document. Fragments are measured once each, so a
// document that spreads fragments into fragments costs linear time to
// check, however many times they expand.
type walker struct {
	fragments ast.FragmentDefinitionList
	vars      map[string]any
	memo      map[string]measures
	// pagesLoadOrders: a page is its list calls and a get per order.
	pagesLoadOrders bool
	// window: a list call covers at most this much of the range (0: all).
	window time.Duration
	now    time.Time
	// buyer: a page of whole orders scans up to listing.BuyerPages.
	buyer bool
	// mutation: the operation's root fields are order actions.
	mutation bool
}

// rootCosts is each root field's cost rule: the upstream fetches the field
// makes itself, before any its selection asks for. Every root field of the
// served schema has one (TestEveryRootFieldHasACostRule); a root field
// without one costs capped, refused rather than free.
var rootCosts = map[string]func(w *walker, sel *ast.Field) int{
	"order":          one,
	"aftersaleOrder": one,
	"orders":         func(w *walker, sel *ast.Field) int { return listLen(sel.ArgumentMap(w.vars)["ids"]) },
	"listOrders":     (*walker).page,
	"searchOrders":   (*walker).page,
	// A subscription costs what one event does: the event's order,
	// fetched once per event whoever subscribes.
	"orderEvents": one,
	// The lookups actions need: one call; the return addresses one more
	// per address read.
	"deliveryCompanies":      one,
	"aftersaleRejectReasons": one,
	"returnAddresses":        func(*walker, *ast.Field) int { return 1 + order.MaxReturnAddresses },
	// Each order action counts two (the contract's rule); package actions
	// holds each to its own bound of calls (actions.MaxCalls), and a
	// document holds at most MaxActions of them.
	"shipOrder":          two,
	"updateShipment":     two,
	"setMerchantNotes":   two,
	"changeOrderPrice":   two,
	"changeOrderAddress": two,
	"acceptAftersale":    two,
	"rejectAftersale":    two,
	"__typename":         none,
	"__schema":           none,
	"__type":             none,
}

func one(*walker, *ast.Field) int  { return 1 }
func two(*walker, *ast.Field) int  { return 2 }
func none(*walker, *ast.Field) int { return 0 }

// page is what a listOrders or searchOrders page fetches: one list call,
// or, for a buyer, the listing.BuyerPages list pages it scans. Where the
// family's lists answer ids (the WeChat Store), it is a list call per
// window of the range (ListWindow; a search has one), one more to go on
// within the window it starts in, and a get per order (one more for a
// buyer).
func (w *walker) page(sel *ast.Field) int {
	switch {
	case w.pagesLoadOrders:
		windows := 1
		if sel.Name == "listOrders" {
			from, to := filterRange(sel.ArgumentMap(w.vars)["filter"])
			windows = listing.Windows(from, to, w.now, w.window)
		}
		gets := pageSize(sel, w.vars)
		if w.buyer {
			gets++ // a buyer's page loads one more, to tell whether another of theirs follows
		}
		return windows + 1 + gets
	case w.buyer:
		return listing.BuyerPages
	}
	return 1
}

// filterRange reads a list filter's time bounds as sent, nil where absent
// or not a time (execution refuses those).
func filterRange(filter any) (from, to *time.Time) {
	f, _ := filter.(map[string]any)
	read := func(names ...string) *time.Time {
		for _, name := range names {
			if s, ok := f[name].(string); ok {
				if t, err := time.Parse(time.RFC3339, s); err == nil {
					return &t
				}
			}
		}
		return nil
	}
	return read("createdFrom", "updatedFrom"), read("createdTo", "updatedTo")
}

// listLen is how many elements a list argument holds once coerced: a
// single value is a list of one (the GraphQL spec's input coercion), null
// none.
func listLen(v any) int {
	if v == nil {
		return 0
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		return rv.Len()
	}
	return 1
}

// selection measures set; root says it is a selection on the operation's
// root type, where the fields with cost rules live.
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
				f.cost = capped
				if rule, ok := rootCosts[sel.Name]; ok {
					f.cost = rule(w, sel)
				}
				if sel.Name == "aftersaleOrder" {
					f.aftersaleCost = f.cost
				}
				if w.mutation && sel.Name != "__typename" {
					f.actions = 1
				}
				if sel.Name == "listOrders" || sel.Name == "searchOrders" {
					f.badFirst = firstOutOfRange(sel, w.vars)
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
					extra := f.cost
					if sel.Name == "listOrders" || sel.Name == "searchOrders" {
						extra = pageSize(sel, w.vars)
					}
					f.cost += extra
					f.aftersaleCost += extra
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

// pageSize is the number of orders a list field's page may hold: its
// first argument, or the default. A first outside 1..MaxFirst is refused
// before anything runs (firstOutOfRange); the charge stays within that
// range regardless.
func pageSize(sel *ast.Field, vars map[string]any) int {
	return int(min(max(firstArg(sel, vars), 1), listing.MaxFirst))
}

// firstOutOfRange is a list field's first when it is outside 1..MaxFirst.
func firstOutOfRange(sel *ast.Field, vars map[string]any) *int {
	if n := firstArg(sel, vars); n < 1 || n > listing.MaxFirst {
		i := int(max(min(n, 1<<31), -1<<31))
		return &i
	}
	return nil
}

// firstArg is a list field's first as sent, or the default.
func firstArg(sel *ast.Field, vars map[string]any) float64 {
	n := float64(listing.DefaultFirst)
	switch v := sel.ArgumentMap(vars)["first"].(type) {
	case int64:
		n = float64(v)
	case int:
		n = float64(v)
	case float64: // a variable decoded without json.Number, coerced as a whole number
		n = v
	case json.Number:
		if f, err := v.Float64(); err == nil {
			n = f
		}
	}
	return n
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
