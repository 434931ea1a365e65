package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// visible applies the caller's role to one loaded order. For a buyer, an
// order of someone else and an order that does not exist give the very same
// error, so a buyer cannot probe which ids exist.
func visible(ctx context.Context, o *order.Order, err error) (*order.Order, error) {
	return visibleTo(ctx, o, err, auth.Principal.CanSee, codes.OrderNotFound, "order not found")
}

// visibleAfterSale does the same for an after-sale order.
func visibleAfterSale(ctx context.Context, a *order.AfterSaleOrder, err error) (*order.AfterSaleOrder, error) {
	return visibleTo(ctx, a, err, auth.Principal.CanSeeAfterSale, codes.AfterSaleNotFound, "after-sale order not found")
}

func visibleTo[T any](ctx context.Context, v *T, err error, canSee func(auth.Principal, *T) bool, notFound codes.Code, msg string) (*T, error) {
	p := auth.FromContext(ctx)
	if p.Role == auth.RoleMerchant {
		return v, err
	}
	if (err == nil && !canSee(p, v)) || order.ErrorCode(err) == notFound {
		return nil, order.Errorf(notFound, msg, nil)
	}
	return v, err
}

// IntrospectionPolicy decides who may read the schema through __schema and
// __type: nobody while introspection is off (the production default), and
// only merchants while it is on, since buyers read their own orders and
// nothing else. A refusal is a coded error about the request, so that a
// client sees why rather than an internal error from the executor.
type IntrospectionPolicy struct {
	// Enabled is the INTROSPECTION setting.
	Enabled bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = IntrospectionPolicy{}

func (IntrospectionPolicy) ExtensionName() string                   { return "IntrospectionPolicy" }
func (IntrospectionPolicy) Validate(graphql.ExecutableSchema) error { return nil }

func (p IntrospectionPolicy) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if !introspects(oc) {
		return nil
	}
	var err *gqlerror.Error
	switch {
	case !p.Enabled:
		err = gqlerror.Errorf("introspection is disabled on this server; an operator can enable it with INTROSPECTION=true")
		err.Extensions = map[string]any{"code": string(codes.IntrospectionDisabled)}
	case auth.FromContext(ctx).Role != auth.RoleMerchant:
		err = gqlerror.Errorf("this role may not run introspection queries")
		err.Extensions = map[string]any{"code": string(codes.Forbidden)}
	default:
		oc.DisableIntrospection = false
	}
	return err
}

// introspects reports whether the operation selects __schema or __type on
// Query, directly or through fragments. It looks at the root level only,
// which is where those fields exist, and at each fragment once.
func introspects(oc *graphql.OperationContext) bool {
	var seen map[string]bool
	var walk func(ast.SelectionSet) bool
	walk = func(set ast.SelectionSet) bool {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				if sel.Name == "__schema" || sel.Name == "__type" {
					return true
				}
			case *ast.InlineFragment:
				if walk(sel.SelectionSet) {
					return true
				}
			case *ast.FragmentSpread:
				if seen[sel.Name] {
					continue
				}
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[sel.Name] = true
				if def := oc.Doc.Fragments.ForName(sel.Name); def != nil && walk(def.SelectionSet) {
					return true
				}
			}
		}
		return false
	}
	return walk(oc.Operation.SelectionSet)
}

// lookup runs one of the lookups actions need (carriers, reject reasons,
// return addresses) for a merchant; a buyer has no use for them, and the
// return addresses carry the merchant's phone numbers.
func lookup[T any](ctx context.Context, list func(context.Context) ([]T, error)) ([]T, error) {
	if auth.FromContext(ctx).Role != auth.RoleMerchant {
		return nil, order.Errorf(codes.Forbidden, "only merchants may read this list", nil)
	}
	return list(ctx)
}

// WritePolicy refuses, before anything runs, a mutation from a caller
// without write permission (auth.Principal.CanWrite: buyers never have it),
// so that no transport and no document shape reaches an action without it.
type WritePolicy struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = WritePolicy{}

func (WritePolicy) ExtensionName() string                   { return "WritePolicy" }
func (WritePolicy) Validate(graphql.ExecutableSchema) error { return nil }

func (WritePolicy) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return nil
	}
	p := auth.FromContext(ctx)
	if p.Role == auth.RoleMerchant && p.CanWrite {
		return nil
	}
	msg := "buyers may not run order actions"
	if p.Role == auth.RoleMerchant {
		msg = "this credential may not run order actions: a JWT needs the " + auth.WriteScope + " scope, an API key the write grant"
	}
	err := gqlerror.Errorf("%s", msg)
	err.Extensions = map[string]any{"code": string(codes.Forbidden)}
	return err
}
