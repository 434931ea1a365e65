package wxpush

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/order"
)

// maxBody bounds a push: an encrypted event is a few hundred bytes.
const maxBody = 64 << 10

// Seen remembers the events already published, so that WeChat's retries of
// a push (up to 10 over about 3.6 h) are published once.
type Seen interface {
	// First reports whether key is new, and remembers it.
	First(ctx context.Context, key string) bool
}

// Handler serves the push URL set in the Store console: the GET check and
// the POSTed events, which it verifies, decrypts, dedupes and hands to
// publish, answering "success" at once. WeChat signs its calls instead of
// sending a bearer token, so this handler is its own authentication.
type Handler struct {
	Crypter *Crypter
	Publish func(order.Event)
	Seen    Seen
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodGet {
		if !h.Crypter.VerifyURL(q.Get("signature"), q.Get("timestamp"), q.Get("nonce")) {
			h.refuse(w, "push URL check with a bad signature")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, q.Get("echostr"))
		return
	}
	var envelope struct {
		Encrypt string `json:"Encrypt"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&envelope); err != nil || envelope.Encrypt == "" {
		h.Metrics.Push("malformed")
		http.Error(w, "not a WeChat push envelope", http.StatusBadRequest)
		return
	}
	message, err := h.Crypter.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), envelope.Encrypt)
	if err != nil {
		h.refuse(w, "push refused: "+reason(err))
		return
	}
	ev, ok, err := ParseEvent(message)
	switch {
	case err != nil:
		h.Metrics.Push("malformed")
		http.Error(w, "the event is not JSON", http.StatusBadRequest)
		return
	case !ok:
		h.Metrics.Push("ignored")
	case !h.Seen.First(r.Context(), ev.Key):
		h.Metrics.Push("duplicate")
	default:
		h.Metrics.Push("published")
		h.Publish(ev)
	}
	_, _ = io.WriteString(w, "success")
}

func (h *Handler) refuse(w http.ResponseWriter, msg string) {
	h.Metrics.Push("refused")
	h.Logger.Warn(msg)
	http.Error(w, "signature does not match", http.StatusUnauthorized)
}

// reason names what failed, never with the key, token or message.
func reason(err error) string {
	switch {
	case errors.Is(err, ErrSignature):
		return "msg_signature does not match (check WECHAT_PUSH_TOKEN)"
	case errors.Is(err, ErrAppID):
		return "the event is for another appid (check WECHAT_APP_ID)"
	}
	return "the message does not decrypt (check WECHAT_PUSH_AES_KEY)"
}

// LocalSeen is Seen for one process: keys are kept for ttl.
type LocalSeen struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	keys  map[string]time.Time
	swept time.Time
}

// RetryWindow is how long a key is kept: longer than WeChat's retries.
const RetryWindow = 5 * time.Hour

// NewLocalSeen returns an empty process-local Seen keeping keys for ttl.
func NewLocalSeen(ttl time.Duration, now func() time.Time) *LocalSeen {
	return &LocalSeen{ttl: ttl, now: now, keys: map[string]time.Time{}}
}

func (s *LocalSeen) First(_ context.Context, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.swept) > s.ttl/10 {
		for k, at := range s.keys {
			if now.Sub(at) > s.ttl {
				delete(s.keys, k)
			}
		}
		s.swept = now
	}
	if at, ok := s.keys[key]; ok && now.Sub(at) <= s.ttl {
		return false
	}
	s.keys[key] = now
	return true
}
