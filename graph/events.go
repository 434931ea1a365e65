package graph

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/events"
	"github.com/ordergraph/ordergraph/internal/order"
)

var (
	errNoEvents = order.Errorf(codes.UpstreamUnavailable, "order events are off on this server: they come from the WeChat Store's message push (WECHAT_PUSH_TOKEN) or, with Mini Shop, from polling (ORDER_POLL_INTERVAL)", nil)
	errTooSlow  = order.Errorf(codes.SubscriberTooSlow, "this subscription fell too far behind its events and was ended; subscribe again", nil)
	errExpired  = order.Errorf(codes.Unauthenticated, "the token of this subscription expired; subscribe again with a fresh one", nil)
	errTooMany  = order.Errorf(codes.RateLimited, "too many orderEvents subscriptions open for this client (MAX_SUBSCRIPTIONS_PER_CLIENT); end one first", nil)
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
// it leaves, the bus closes, or it falls behind. A buyer gets an event only
// when the order, as fetched, is theirs.
func subscribe(ctx context.Context, bus *events.Bus, buffer int, match func(order.Event) bool) (<-chan *events.Delivery, error) {
	p := auth.FromContext(ctx)
	// A client is its credential's subject, else its address.
	client := p.Subject
	if client == "" {
		client = "ip:" + middleware.GetClientIP(ctx)
	}
	sub, err := bus.Subscribe(client, buffer)
	if err != nil {
		return nil, errTooMany
	}
	out := make(chan *events.Delivery)
	end := func(err *order.Error) {
		transport.AddSubscriptionError(ctx, &gqlerror.Error{Message: err.Message, Extensions: map[string]any{"code": string(err.Code)}})
	}
	go func() {
		defer close(out)
		defer bus.Unsubscribe(sub)
		var expired <-chan time.Time
		if !p.Expires.IsZero() {
			t := time.NewTimer(time.Until(p.Expires))
			defer t.Stop()
			expired = t.C
		}
		for {
			var d *events.Delivery
			select {
			case <-ctx.Done():
				return
			case <-expired:
				end(errExpired)
				return
			case d = <-sub.Events():
			}
			if d == nil || ended(sub) {
				if errors.Is(sub.Err(), events.ErrTooSlow) {
					end(errTooSlow)
				}
				return
			}
			if !match(d.Event) {
				continue
			}
			if p.Role != auth.RoleMerchant {
				if o, err := d.Order(ctx); err != nil || !p.CanSee(o) {
					continue
				}
			}
			select {
			case out <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
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
