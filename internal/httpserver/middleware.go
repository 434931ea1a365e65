package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/metrics"
)

// requestInfo collects what the request log line reports from deeper layers.
type requestInfo struct {
	operation string
	subject   string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// securityHeaders are sent with every response: no MIME sniffing, no
// framing (the playground must not be clickjacked), no referrer leaks.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// requestLog writes one structured line per request. It logs the path, never
// the query string: GET /graphql carries the query there, and it is no
// business of the logs.
func requestLog(log *slog.Logger, m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			info := &requestInfo{}
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
			m.HTTPRequest(ww.Status())
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", middleware.GetReqID(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("operation", info.operation),
				slog.String("subject", info.subject),
				slog.Int("status", ww.Status()),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			)
		})
	}
}

// recoverer answers a panic outside the GraphQL executor with a GraphQL
// error and logs it without a stack or the panic's text, either of which
// may carry request data.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p) // net/http's own signal to drop the connection
				}
				log.LogAttrs(r.Context(), slog.LevelError, "panic in handler", slog.String("panic", fmt.Sprintf("%T", p)), slog.String("request_id", middleware.GetReqID(r.Context())))
				writeGraphQLError(w, http.StatusInternalServerError, codes.Internal, "internal server error")
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody reads a POST body up to max bytes and answers 413 past it.
// (gqlgen would report an over-long body as a decoding error with status 200.)
func limitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tooLarge := func() {
				writeGraphQLError(w, http.StatusRequestEntityTooLarge, codes.BadRequest, fmt.Sprintf("request body larger than %d bytes", max))
			}
			if r.ContentLength > max {
				tooLarge()
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
			if err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					tooLarge()
					return
				}
				writeGraphQLError(w, http.StatusBadRequest, codes.BadRequest, "request body could not be read")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

func writeGraphQLError(w http.ResponseWriter, status int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}

// specStatus keeps application/json responses at 200 for well-formed requests
// whose document fails to parse or validate, as the GraphQL-over-HTTP spec
// asks; gqlgen answers those with 422. application/graphql-response+json
// responses keep gqlgen's 400, which is what the spec asks of that type.
func specStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&statusFixer{ResponseWriter: w}, r)
	})
}

type statusFixer struct{ http.ResponseWriter }

func (s *statusFixer) WriteHeader(status int) {
	if status == http.StatusUnprocessableEntity && strings.HasPrefix(s.Header().Get("Content-Type"), "application/json") {
		status = http.StatusOK
	}
	s.ResponseWriter.WriteHeader(status)
}
