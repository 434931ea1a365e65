package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// visible applies the caller's role to one loaded order. For a buyer, an
// order of someone else and an order that does not exist give the very same
// error, so a buyer cannot probe which ids exist.
func visible(ctx context.Context, o *order.Order, err error) (*order.Order, error) {
	p := auth.FromContext(ctx)
	if p.Role == auth.RoleMerchant {
		return o, err
	}
	if (err == nil && !p.CanSee(o)) || order.ErrorCode(err) == codes.OrderNotFound {
		return nil, order.Errorf(codes.OrderNotFound, "order not found", nil)
	}
	return o, err
}

// RolePolicy refuses operations a role may not run: buyers read their own
// orders and nothing else, so the schema's introspection is not theirs.
type RolePolicy struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = RolePolicy{}

func (RolePolicy) ExtensionName() string                   { return "RolePolicy" }
func (RolePolicy) Validate(graphql.ExecutableSchema) error { return nil }

func (RolePolicy) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if auth.FromContext(ctx).Role == auth.RoleMerchant || !measure(oc).introspects {
		return nil
	}
	err := gqlerror.Errorf("this role may not run introspection queries")
	err.Extensions = map[string]any{"code": string(codes.Forbidden)}
	return err
}
