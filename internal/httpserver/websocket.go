package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/ordergraph/ordergraph/internal/auth"
)

// Subscriptions over WebSocket, on /graphql: graphql-transport-ws (the
// graphql-ws library's protocol) and the legacy graphql-ws, both gqlgen's.
const (
	wsInitTimeout = 10 * time.Second
	wsKeepAlive   = 15 * time.Second
	// wsForbidden closes a connection whose connection_init credentials are
	// refused, as graphql-ws does.
	wsForbidden = 4403
)

// websocket is the WebSocket transport. Browsers cannot set headers on a
// WebSocket, so the credentials come in the connection_init payload
// (Authorization or X-API-Key, any case) and are checked exactly like the
// HTTP headers; a connection whose upgrade carried a header may send none.
// Origins are CORS_ORIGINS' plus the server's own.
func websocket(cfg Config) transport.Websocket {
	return transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{OriginPatterns: originPatterns(cfg.CORSOrigins)}},
		InitTimeout:    wsInitTimeout,
		// graphql-transport-ws pings; legacy graphql-ws gets keep-alive
		// messages.
		PingPongInterval:      wsKeepAlive,
		KeepAlivePingInterval: wsKeepAlive,
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			p, err := initPrincipal(ctx, cfg.Auth, payload)
			if err != nil {
				cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "websocket refused", slog.String("reason", err.Error()))
				ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, wsForbidden), "Forbidden")
				return ctx, nil, err
			}
			return auth.WithPrincipal(ctx, p), nil, nil
		},
	}
}

// initPrincipal authenticates a connection_init payload; without
// credentials in it, the upgrade request's own stand.
func initPrincipal(ctx context.Context, a *auth.Authenticator, payload transport.InitPayload) (auth.Principal, error) {
	bearer, key := payload.Authorization(), payloadValue(payload, "X-API-Key")
	if bearer == "" && key == "" {
		if p := auth.FromContext(ctx); p.Role != "" {
			return p, nil
		}
	}
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	r.Header.Set("Authorization", bearer)
	r.Header.Set("X-API-Key", key)
	return a.Authenticate(r)
}

// payloadValue reads a string of the payload whatever the case of its key.
func payloadValue(p transport.InitPayload, key string) string {
	for k, v := range p {
		if s, ok := v.(string); ok && http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(key) {
			return s
		}
	}
	return ""
}

// originPatterns turns CORS origins (https://app.example.com, or *) into
// the host patterns the WebSocket library checks Origin against.
func originPatterns(origins []string) []string {
	var hosts []string
	for _, o := range origins {
		if o == "*" {
			return []string{"*"}
		}
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}
