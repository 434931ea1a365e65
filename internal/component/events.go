package component

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// maxEventBody bounds an event: an encrypted one is well under a kilobyte.
const maxEventBody = 64 << 10

// eventDeadline bounds the handling of one event: WeChat waits 5 s for
// the answer, then sends the event again.
const eventDeadline = 4 * time.Second

// refusalLogEvery is how often a refused event is logged, with the count
// of the others, however many forged requests arrive.
const refusalLogEvery = time.Minute

// envelope is a platform message as WeChat posts it: XML around the
// encrypted event.
type envelope struct {
	Encrypt string `xml:"Encrypt"`
}

// event is a decrypted authorization event; its fields depend on InfoType.
type event struct {
	AppID             string `xml:"AppId"`
	CreateTime        int64  `xml:"CreateTime"`
	InfoType          string `xml:"InfoType"`
	Ticket            string `xml:"ComponentVerifyTicket"`
	AuthorizerAppID   string `xml:"AuthorizerAppid"`
	AuthorizationCode string `xml:"AuthorizationCode"`
}

// ServeHTTP serves the platform's authorization event URL: WeChat posts
// the verify ticket and shops' authorizations and revocations there,
// signed and encrypted with the platform's Token and EncodingAESKey. The
// signature is the request's authentication, so the route stays outside
// client authentication. It answers "success", or an error status when
// the event should be sent again.
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "WeChat posts platform events", http.StatusMethodNotAllowed)
		return
	}
	now := p.now()
	var env envelope
	if err := xml.NewDecoder(io.LimitReader(r.Body, maxEventBody)).Decode(&env); err != nil || env.Encrypt == "" {
		http.Error(w, "not a WeChat platform event", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	message, err := p.crypter.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
	if err != nil {
		p.refuse(w, now, "platform event refused: "+reason(err))
		return
	}
	if stale := staleness(q.Get("timestamp"), now); stale != "" {
		p.refuse(w, now, "platform event refused: "+stale)
		return
	}
	var ev event
	if err := xml.Unmarshal(message, &ev); err != nil {
		http.Error(w, "the platform event is not XML", http.StatusBadRequest)
		return
	}
	if ev.AppID != p.cfg.ComponentAppID {
		p.refuse(w, now, "platform event refused: it names another component appid")
		return
	}
	// Detached: WeChat hanging up must not cut an exchange short. Bounded
	// below WeChat's 5 s wait for the answer, so that an event that could
	// not be handled is answered with an error, not sent again on top of
	// an exchange still in flight.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), min(p.cfg.FetchTimeout, eventDeadline))
	defer cancel()
	if err := p.handle(ctx, ev, now); err != nil {
		http.Error(w, "the event could not be handled yet; send it again", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "success")
}

// handle acts on one event. An error asks WeChat to send it again, as
// WeChat does for hours with an answer that was slow: events are ordered
// by when WeChat created them, not by when they arrive.
func (p *Platform) handle(ctx context.Context, ev event, now time.Time) error {
	if validAppID(ev.AuthorizerAppID) {
		// The event is kept in the shared store; this process keeps a copy
		// only of the shops it serves.
		defer p.forgetCopy(ev.AuthorizerAppID)
	}
	at := now
	if ev.CreateTime > 0 {
		at = time.Unix(ev.CreateTime, 0)
	}
	switch ev.InfoType {
	case "component_verify_ticket":
		if ev.Ticket == "" || !now.Before(at.Add(ticketLifetime)) {
			return nil
		}
		_ = p.store.SaveTicket(ctx, p.cfg.ComponentAppID, Grant{Token: ev.Ticket, Issued: at, Expires: at.Add(ticketLifetime)}, at.Add(ticketLifetime).Sub(now))
		p.platform.clearFailure() // "no ticket" no longer holds
		p.log.Debug("verify ticket received")
	case "authorized", "updateauthorized":
		if !validAppID(ev.AuthorizerAppID) || ev.AuthorizationCode == "" {
			p.log.Warn("authorization event without a shop appid or an authorization code; ignored", slog.String("info_type", ev.InfoType))
			return nil
		}
		err := p.exchange(ctx, ev.AuthorizerAppID, ev.AuthorizationCode, at)
		if err == nil {
			p.log.Info("a shop authorized the platform", slog.String("authorizer_appid", ev.AuthorizerAppID), slog.String("info_type", ev.InfoType))
			return nil
		}
		p.log.Warn("a shop authorized the platform, but its authorization code could not be exchanged (WeChat refused it: a second delivery of an event already exchanged, or a spent code; else the shop is recovered from WeChat's list of authorizers)",
			slog.String("authorizer_appid", ev.AuthorizerAppID), slog.String("error", err.Error()))
		if !retryable(err) {
			return nil
		}
		return err
	case "unauthorized":
		if !validAppID(ev.AuthorizerAppID) {
			return nil
		}
		if revoked, _ := p.store.Revoke(ctx, Key{Component: p.cfg.ComponentAppID, Authorizer: ev.AuthorizerAppID}, "", at); !revoked {
			p.log.Info("an unauthorized event older than the shop's last event; ignored", slog.String("authorizer_appid", ev.AuthorizerAppID))
			return nil
		}
		p.resetShop(ev.AuthorizerAppID)
		p.log.Info("a shop revoked its authorization of the platform", slog.String("authorizer_appid", ev.AuthorizerAppID))
	}
	return nil
}

// retryable reports whether a failed exchange may succeed when WeChat
// sends the event again: not when WeChat refused the code itself, since
// the code is the same each time.
func retryable(err error) bool {
	var oe *order.Error
	return !errors.As(err, &oe) || oe.Errcode == nil || *oe.Errcode == -1
}

// staleness says why an event signed at timestamp (Unix seconds) is not
// taken at now, or "" when it is; the windows are the message push's.
func staleness(timestamp string, now time.Time) string {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "the timestamp is not Unix seconds"
	}
	switch at := time.Unix(secs, 0); {
	case at.After(now.Add(wxpush.MaxSkew)):
		return "signed more than " + wxpush.MaxSkew.String() + " in the future (check this server's clock)"
	case now.Sub(at) > wxpush.MaxAge:
		return "signed more than " + wxpush.MaxAge.String() + " ago, longer than WeChat retries: a replay"
	}
	return ""
}

// reason names what failed, never with the key, token or message.
func reason(err error) string {
	switch {
	case errors.Is(err, wxpush.ErrSignature):
		return "msg_signature does not match (check the platform's message Token)"
	case errors.Is(err, wxpush.ErrAppID):
		return "the event is for another appid (check the component appid)"
	}
	return "the message does not decrypt (check the platform's EncodingAESKey)"
}

func (p *Platform) refuse(w http.ResponseWriter, now time.Time, msg string) {
	if held, ok := p.refusals.allow(now); ok {
		p.log.Warn(msg, slog.Int("refused_since_last_line", held))
	}
	http.Error(w, "platform event refused: its signature, appid or timestamp does not check out", http.StatusUnauthorized)
}

// throttle lets one line through an interval, counting the ones it held.
type throttle struct {
	mu   sync.Mutex
	next time.Time
	held int
}

func (t *throttle) allow(now time.Time) (held int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.held++
		return 0, false
	}
	held, t.held, t.next = t.held, 0, now.Add(refusalLogEvery)
	return held, true
}
