package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

func init() {
	// A document refused before execution answers with the status its code
	// carries in internal/codes: 400 with application/graphql-response+json
	// (gqlgen's "protocol" errors).
	for _, info := range codes.All {
		if info.HTTP == http.StatusBadRequest {
			errcode.RegisterErrorType(string(info.Code), errcode.KindProtocol)
		}
	}
}

// ErrorPresenter turns every error of an operation gqlgen runs or refuses
// into a client-facing GraphQL error. Domain errors keep their safe message
// and gain extensions.code (and extensions.upstreamErrcode); errors written
// by gqlgen, gqlparser or the server's own extensions (syntax, validation,
// limits, introspection policy) pass through, coded; anything else is an
// internal error whose text is logged, never sent. Two kinds of error do not
// come through here: the HTTP layer's refusals before gqlgen sees the request
// (401, 429, 413), and the error that ends a subscription (see subscribe),
// both written with their code from internal/codes.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		presented := graphql.DefaultErrorPresenter(ctx, err)
		var oe *order.Error
		if errors.As(err, &oe) {
			ext := map[string]any{"code": string(oe.Code)}
			if oe.Errcode != nil {
				ext["upstreamErrcode"] = *oe.Errcode
			}
			if oe.Outcome != "" {
				ext["outcome"] = oe.Outcome
			}
			level := slog.LevelDebug // the client's business: a missing order, a bad id
			if oe.Transient() {
				level = slog.LevelWarn // the operator's business
			}
			log.LogAttrs(ctx, level, "order error", slog.String("code", string(oe.Code)), slog.Any("path", presented.Path), slog.Any("cause", oe.Cause))
			return &gqlerror.Error{Message: oe.Message, Path: presented.Path, Locations: presented.Locations, Extensions: ext}
		}
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Err == nil {
			return requestError(presented)
		}
		log.LogAttrs(ctx, slog.LevelError, "internal error", slog.Any("path", presented.Path), slog.String("error", err.Error()))
		return &gqlerror.Error{Message: "internal server error", Path: presented.Path, Locations: presented.Locations, Extensions: map[string]any{"code": string(codes.Internal)}}
	}
}

// requestError passes on an error written by gqlgen or gqlparser. Those
// about the request itself (no path) that carry no code get BAD_REQUEST; the
// one about an undecodable body is reworded, since gqlgen's text echoes the
// body and the JSON decoder's error.
func requestError(e *gqlerror.Error) *gqlerror.Error {
	if _, coded := e.Extensions["code"]; coded || e.Path != nil {
		return e
	}
	msg := e.Message
	if strings.HasPrefix(msg, "json request body could not be decoded") {
		msg = `request body must be a JSON object with a string "query"`
	}
	return &gqlerror.Error{Message: msg, Locations: e.Locations, Extensions: map[string]any{"code": string(codes.BadRequest)}}
}

// Recover turns a resolver panic into a coded internal error. The panic value
// is logged by type only: it may hold anything, secrets included.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.LogAttrs(ctx, slog.LevelError, "panic in resolver", slog.String("panic", fmt.Sprintf("%T", p)), slog.Any("path", graphql.GetPath(ctx)))
		return order.Errorf(codes.Internal, "internal server error", nil)
	}
}

// addEntryError reports err for entry i of the list field being resolved, so
// its path is ["orders", i] and the rest of the list still resolves.
func addEntryError(ctx context.Context, i int, err error) {
	path := append(graphql.GetPath(ctx), ast.PathIndex(i))
	graphql.AddError(ctx, &gqlerror.Error{Path: path, Message: err.Error(), Err: err})
}
