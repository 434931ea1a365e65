package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"
	"github.com/go-chi/httprate"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
)

// clientIP records the client's address: the peer's, or, behind trusted
// proxies, the one their X-Forwarded-For names.
func clientIP(trusted []string) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	return middleware.ClientIPFromXFF(trusted...)
}

// corsFor lets browsers on origins call the API; with none, no CORS
// headers are sent and browsers keep other sites out.
func corsFor(origins []string) func(http.Handler) http.Handler {
	if len(origins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return cors.Handler(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowedHeaders: []string{"Accept", "Authorization", "Content-Type", "X-API-Key", auth.ShopHeader},
		MaxAge:         600,
	})
}

// authenticate puts the caller's principal in the context, or what the
// client is told of its refusal. It does not refuse anyone itself:
// requireAuth does, after the rate limiter, so that guessing credentials is
// rate limited (by IP) like everything else.
func authenticate(a *auth.Authenticator, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r)
			if err != nil {
				// The reason only: the credential itself is never logged.
				log.LogAttrs(r.Context(), slog.LevelDebug, "authentication failed", slog.String("reason", err.Error()), slog.String("request_id", middleware.GetReqID(r.Context())))
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), refusalKey{}, auth.Refusal(err))))
				return
			}
			if info := infoFrom(r.Context()); info != nil {
				info.subject = p.Subject
			}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
}

// requireAuth answers 401 to a request that authenticate found no
// principal for. A WebSocket upgrade goes on: browsers cannot set its
// headers, and the connection_init payload is checked instead (see
// websocket.go) before any operation runs.
func requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.FromContext(r.Context()).Role == "" && !isUpgrade(r) {
			msg, _ := r.Context().Value(refusalKey{}).(string)
			w.Header().Set("WWW-Authenticate", `Bearer realm="ordergraph"`)
			writeGraphQLError(w, http.StatusUnauthorized, codes.Unauthenticated, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimiter allows each client limit requests per window: a client is
// its API key or token subject, else its IP address. Operations on a
// WebSocket count in the same bucket (see streamRules).
type rateLimiter struct {
	l      *httprate.RateLimiter
	limit  int
	window time.Duration
}

// newRateLimiter returns the limiter; nil for none.
func newRateLimiter(limit int, window time.Duration) *rateLimiter {
	if limit <= 0 {
		return nil
	}
	return &rateLimiter{l: httprate.NewRateLimiter(limit, window), limit: limit, window: window}
}

// over counts r against its client's bucket and reports whether it is over
// the limit, and where the client stands; w receives the rate-limit
// headers: httprate's X-RateLimit-* (Retry-After among them) and the IETF
// draft's RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.
func (rl *rateLimiter) over(w http.ResponseWriter, r *http.Request) (bool, rateState) {
	if rl == nil {
		return false, rateState{}
	}
	over := rl.l.OnLimit(w, r, clientKey(r.Context()))
	// httprate keeps its counts to itself; what it tells the client is
	// where the client stands.
	h := w.Header()
	st := rateState{Limit: rl.limit}
	st.Remaining, _ = strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	st.Remaining = max(st.Remaining, 0)
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		st.ResetSeconds = int(max(reset-time.Now().Unix(), 0))
	}
	h.Set("RateLimit-Limit", strconv.Itoa(st.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(st.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(st.ResetSeconds))
	return over, st
}

// rateState is where a client stands in its rate-limit bucket once a
// request or operation counted: each GraphQL response's
// extensions.rateLimit.
type rateState struct {
	Limit        int `json:"limit"`
	Remaining    int `json:"remaining"`
	ResetSeconds int `json:"resetSeconds"` // until the window ends
}

// rateKey holds the rateState of a request's (or, on a WebSocket, of an
// operation's, in its Stats) count.
type rateKey struct{}

// rateFrom is the rateState of the operation or request of ctx; ok is
// false without a rate limit.
func rateFrom(ctx context.Context) (st rateState, ok bool) {
	if graphql.HasOperationContext(ctx) {
		if st, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(rateStatsKey).(rateState); ok {
			return st, true
		}
	}
	st, ok = ctx.Value(rateKey{}).(rateState)
	return st, ok
}

// rateStatsKey holds an operation's rateState in its Stats: a WebSocket's
// operations count one by one, after the context of their connection was
// made.
const rateStatsKey = "ordergraph.rateLimit"

func (rl *rateLimiter) refusal(what string) string {
	return "too many " + what + ": the limit is " + strconv.Itoa(rl.limit) + " per " + rl.window.String() + " (RATE_LIMIT)"
}

// rateLimit answers 429 to a request over its client's limit.
func rateLimit(rl *rateLimiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			over, st := rl.over(w, r)
			if over {
				writeGraphQLError(w, http.StatusTooManyRequests, codes.RateLimited, rl.refusal("requests")+"; retry after the time in Retry-After")
				return
			}
			if rl != nil {
				r = r.WithContext(context.WithValue(r.Context(), rateKey{}, st))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// clientKey names the caller of ctx for limits: its API key or token
// subject, else its IP address.
func clientKey(ctx context.Context) string {
	return auth.ClientKey(ctx, middleware.GetClientIP(ctx))
}

// refusalKey holds what requireAuth tells a client whose credentials
// authenticate refused.
type refusalKey struct{}

func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
