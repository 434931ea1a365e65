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
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/metrics"
)

// requestInfo collects what the request log line reports from deeper layers.
type requestInfo struct {
	subject string

	// A WebSocket runs several operations at once on one request.
	mu        sync.Mutex
	operation string
}

func (i *requestInfo) setOperation(name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.operation = name
}

func (i *requestInfo) op() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.operation
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
				slog.String("operation", info.op()),
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

// specResponse brings gqlgen's answers to requests it refuses before
// executing anything (a body that is not a GraphQL request, a document that
// fails to parse, validate or pass the limits) in line with the
// GraphQL-over-HTTP spec:
//   - such a response has no "data" entry, since nothing was executed
//     (gqlgen writes "data": null);
//   - application/json answers 200 for a well-formed request (gqlgen: 422);
//     application/graphql-response+json keeps gqlgen's 4xx, as the spec asks.
//
// gqlgen sets a 4xx status only for those refusals, so the status tells
// them apart from executed operations, whose data must stay.
func specResponse(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &specWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.refused {
			writeWithoutData(w, sw.body.Bytes())
		}
	})
}

type specWriter struct {
	http.ResponseWriter
	refused bool
	body    bytes.Buffer
}

func (s *specWriter) WriteHeader(status int) {
	if status >= 400 && status < 500 {
		s.refused = true
		if status == http.StatusUnprocessableEntity && strings.HasPrefix(s.Header().Get("Content-Type"), "application/json") {
			status = http.StatusOK
		}
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *specWriter) Write(b []byte) (int, error) {
	if s.refused {
		return s.body.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

// writeWithoutData writes a refused request's GraphQL response without its
// data entry. A body that is not such a response goes out as it came.
func writeWithoutData(w http.ResponseWriter, body []byte) {
	var resp struct {
		Errors     json.RawMessage `json:"errors"`
		Extensions json.RawMessage `json:"extensions,omitempty"`
	}
	if err := json.Unmarshal(body, &resp); err == nil && resp.Errors != nil {
		if out, err := json.Marshal(resp); err == nil {
			body = out
		}
	}
	_, _ = w.Write(body)
}

// Unwrap lets http.ResponseController reach the connection underneath.
func (s *specWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
