package graph

import (
	"context"
	"errors"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/tracing"
)

var (
	errNoEvents = order.Errorf(codes.UpstreamUnavailable, "order events are off on this server: they come from the WeChat Store's message push (WECHAT_PUSH_TOKEN) or, with Mini Shop, from polling (ORDER_POLL_INTERVAL)", nil)
	errTooSlow  = order.Errorf(codes.SubscriberTooSlow, "this subscription fell too far behind its events and was ended; subscribe again", nil)
	errExpired  = order.Errorf(codes.Unauthenticated, "the token of this subscription expired; subscribe again with a fresh one", nil)
	errTooMany  = order.Errorf(codes.RateLimited, "too many orderEvents subscriptions open for this client (MAX_SUBSCRIPTIONS_PER_CLIENT); end one first", nil)
	errClosed   = order.Errorf(codes.UpstreamUnavailable, "the server is shutting down, or reloading this shop's events; subscribe again", nil)
)

// eventMatcher checks filter and returns whether an event passes it.
func eventMatcher(filter *order.EventFilter) (func(order.Event) bool, error) {
	var f order.EventFilter
	if filter != nil {
		f = *filter
	}
	var id uint64
	if f.OrderID != nil {
		var err error
		if id, err = order.ParseID(*f.OrderID); err != nil {
			return nil, err
		}
	}
	return func(ev order.Event) bool {
		return (len(f.Kinds) == 0 || slices.Contains(f.Kinds, ev.Kind)) && (id == 0 || ev.OrderID == id)
	}, nil
}

// subscribe streams the bus's events that match to the subscriber until
// it leaves, the bus closes, it falls behind, or the transport ends it (a
// cause of auth.ErrExpired: its token expired). A buyer gets an event only
// when the order, as fetched, is theirs. The error that ends it goes out as
// the stream's last response (see StreamErrors).
func subscribe(ctx context.Context, bus *events.Bus, buffer int, match func(order.Event) bool) (<-chan *events.Delivery, error) {
	p := auth.FromContext(ctx)
	sub, err := bus.Subscribe(auth.ClientKey(ctx, middleware.GetClientIP(ctx)), buffer)
	switch {
	case errors.Is(err, events.ErrClosed):
		return nil, errClosed
	case err != nil:
		return nil, errTooMany
	}
	out := make(chan *events.Delivery)
	// Each delivery's span links to the subscription's operation.
	subscription := trace.SpanContextFromContext(ctx)
	end := streamEndFrom(ctx)
	end.done = make(chan struct{})
	// stopped keeps why the subscriber's context ended when the client
	// should hear it: its token expired.
	stopped := func() {
		if errors.Is(context.Cause(ctx), auth.ErrExpired) {
			end.set(errExpired)
		}
	}
	go func() {
		defer close(end.done)
		defer close(out)
		defer bus.Unsubscribe(sub)
		for {
			var d *events.Delivery
			select {
			case <-ctx.Done():
				stopped()
				return
			case d = <-sub.Events():
			}
			if d == nil || ended(sub) {
				if errors.Is(sub.Err(), events.ErrTooSlow) {
					end.set(errTooSlow)
				}
				return
			}
			if !match(d.Event) {
				continue
			}
			if !deliver(ctx, subscription, d, p, out) {
				stopped()
				return
			}
		}
	}()
	return out, nil
}

// deliver hands d to out when p may see its order, and reports false when
// ctx ended first. With tracing on, the delivery is a trace of its own
// (the event came from a push or a poll, not from the subscriber), linked
// to the subscription's; it names the event's kind only.
func deliver(ctx context.Context, subscription trace.SpanContext, d *events.Delivery, p auth.Principal, out chan<- *events.Delivery) bool {
	if tracing.Enabled() {
		var span trace.Span
		ctx, span = tracer().Start(ctx, "deliver orderEvents", trace.WithNewRoot(),
			trace.WithLinks(trace.Link{SpanContext: subscription}), trace.WithAttributes(attribute.String("order.event.kind", string(d.Event.Kind))))
		defer span.End()
	}
	if p.Role != auth.RoleMerchant {
		if o, err := d.Order(ctx); err != nil || !p.CanSee(o) {
			return true
		}
	}
	select {
	case out <- d:
		return true
	case <-ctx.Done():
		return false
	}
}

// tracer is looked up at each use: the global provider may change (tests
// set one each), and tracers taken earlier would keep the first.
func tracer() trace.Tracer { return otel.Tracer("github.com/ordergraph/ordergraph/graph") }

// streamEnd is the error that ends one subscription. gqlgen's
// transport.AddSubscriptionError works on WebSocket only: on SSE it
// dereferences nil in the subscription's goroutine and the process dies.
// So the error is kept here and sent, on any transport, as the stream's last
// response.
type streamEnd struct {
	// done is closed when the subscription's goroutine has exited, after
	// err is set; nil when no subscription started.
	done chan struct{}
	err  *gqlerror.Error
}

func (e *streamEnd) set(err *order.Error) {
	e.err = &gqlerror.Error{Message: err.Message, Extensions: map[string]any{"code": string(err.Code)}}
}

// last is the stream's closing response: the error that ended it, once.
func (e *streamEnd) last() *graphql.Response {
	if e.done == nil {
		return nil
	}
	<-e.done
	err := e.err
	e.err = nil
	if err == nil {
		return nil
	}
	return &graphql.Response{Errors: gqlerror.List{err}}
}

type streamEndKey struct{}

// streamEndFrom is the subscription's streamEnd; without StreamErrors in
// the server, one that nothing reads.
func streamEndFrom(ctx context.Context) *streamEnd {
	if e, ok := ctx.Value(streamEndKey{}).(*streamEnd); ok {
		return e
	}
	return &streamEnd{}
}

// StreamErrors is the gqlgen extension that ends a subscription's stream
// with the error that ended the subscription (SUBSCRIBER_TOO_SLOW,
// UNAUTHENTICATED), on WebSocket and SSE alike.
type StreamErrors struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = StreamErrors{}

// ExtensionName names the extension to gqlgen.
func (StreamErrors) ExtensionName() string { return "StreamErrors" }

// Validate accepts every schema.
func (StreamErrors) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation gives a subscription its streamEnd, and its stream a
// last response from it. The subscription resolver runs within next, in this
// goroutine, so the streamEnd is settled when the stream is first read.
func (StreamErrors) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation != ast.Subscription {
		return next(ctx)
	}
	end := &streamEnd{}
	respond := next(context.WithValue(ctx, streamEndKey{}, end))
	return func(ctx context.Context) *graphql.Response {
		if resp := respond(ctx); resp != nil {
			return resp
		}
		return end.last()
	}
}

// ended reports whether sub has ended, although deliveries may remain.
func ended(sub *events.Subscription) bool {
	select {
	case <-sub.Done():
		return true
	default:
		return false
	}
}
