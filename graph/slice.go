package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// marshalSliceInline marshals the elements of a list one after the other,
// where gqlgen would start a goroutine for each. cmd/graphgen puts it in the
// generated code for lists whose elements reach no resolver, however deep,
// so that marshalling them is plain struct reads: nothing to overlap (no
// loader batch to fill), and a goroutine per element only costs. Like
// gqlgen, it gives each element its field context and turns a panic into an
// error on that element alone. The elements' field contexts and indices
// are allocated together: two allocations a list, where gqlgen makes two
// an element.
func marshalSliceInline(ctx context.Context, n int, marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	ret := make(graphql.Array, n)
	fcs, index := make([]graphql.FieldContext, n), make([]int, n)
	for i := range n {
		index[i], fcs[i].Index = i, &index[i]
		ctx := graphql.WithFieldContext(ctx, &fcs[i])
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(ctx, graphql.Recover(ctx, r))
					ret[i] = graphql.Null
				}
			}()
			ret[i] = marshal(ctx, i)
		}()
	}
	return ret
}
