package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodeCostLimitExceeded marks a query refused for what it would spend upstream.
const CodeCostLimitExceeded = "COST_LIMIT_EXCEEDED"

func init() {
	// A refused document is a protocol error, like a validation failure:
	// 400 for application/graphql-response+json.
	errcode.RegisterErrorType(CodeCostLimitExceeded, errcode.KindProtocol)
}

// CostLimit refuses, before execution, any operation that would make more
// than Max upstream fetches: each order field (alias or not) costs one, and
// orders(ids:) one per id. Every fetch is counted, repeats included, so the
// cost is known from the document alone and cannot be gamed by dedupe.
type CostLimit struct{ Max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = CostLimit{}

func (CostLimit) ExtensionName() string                   { return "CostLimit" }
func (CostLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (c CostLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	cost := selectionCost(oc.Operation.SelectionSet, oc.Doc.Fragments, oc.Variables)
	if cost <= c.Max {
		return nil
	}
	err := gqlerror.Errorf("query would make %d upstream order fetches; the limit is %d (each order field and each orders(ids:) id counts one)", cost, c.Max)
	err.Extensions = map[string]any{"code": CodeCostLimitExceeded, "cost": cost, "limit": c.Max}
	return err
}

// selectionCost counts the order fetches of a Query selection set. Order
// fields exist only on Query, so only the root level and the fragments
// spread into it are walked.
func selectionCost(set ast.SelectionSet, fragments ast.FragmentDefinitionList, vars map[string]any) int {
	cost := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			switch sel.Name {
			case "order":
				cost++
			case "orders":
				ids, _ := sel.ArgumentMap(vars)["ids"].([]any)
				cost += len(ids)
			}
		case *ast.InlineFragment:
			cost += selectionCost(sel.SelectionSet, fragments, vars)
		case *ast.FragmentSpread:
			if def := fragments.ForName(sel.Name); def != nil {
				cost += selectionCost(def.SelectionSet, fragments, vars)
			}
		}
	}
	return cost
}
