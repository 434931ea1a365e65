package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// PlayInterval is how often the sandbox moves an order on and pushes its
// event: often enough to watch in the playground.
const PlayInterval = 5 * time.Second

// PushKeys makes a push Token and EncodingAESKey for this run, for a
// family that pushes its events.
func PushKeys() (token, encodingAESKey string) {
	var t [16]byte
	var key [32]byte
	_, _ = rand.Read(t[:])
	_, _ = rand.Read(key[:])
	return hex.EncodeToString(t[:]), base64.RawStdEncoding.EncodeToString(key[:])
}

// Play plays a live shop: every interval a catalogue order moves on. With
// a push handler (a family that pushes) its event, signed and encrypted as
// WeChat does it, goes through the server's own handler (encrypted with
// its own keys), so that the whole path runs as in production; without one
// (a family that pushes nothing), the poller finds the change. The events
// of the write calls go the same way until stop.
func (s *Sandbox) Play(interval time.Duration, push *wxpush.Handler) (stop func()) {
	if push == nil {
		return s.play(interval, nil)
	}
	return s.play(interval, storePush{crypter: push.Crypter, handler: push, path: "/wechat/events", toUser: "gh_sandbox"}.send)
}

// play is Play with the events going to emit; nil pushes none.
func (s *Sandbox) play(interval time.Duration, emit func(event []byte, now time.Time)) (stop func()) {
	s.mu.Lock()
	s.emit = emit
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				if _, event := s.Advance(now); emit != nil && event != nil {
					emit(event, now)
				}
			}
		}
	}()
	return func() {
		close(done)
		s.mu.Lock()
		s.emit = nil
		s.mu.Unlock()
	}
}

// storePush posts a shop's WeChat Store events as WeChat does: in the
// JSON envelope, signed and encrypted by crypter, to handler at path, from
// the shop's original id toUser.
type storePush struct {
	crypter      *wxpush.Crypter
	handler      http.Handler
	path, toUser string
}

func (p storePush) send(event []byte, now time.Time) {
	_ = p.push(event, now) // WeChat would retry; the sandbox's events are many
}

func (p storePush) push(event []byte, now time.Time) error {
	q, encrypted := seal(p.crypter, event, now)
	body, _ := json.Marshal(map[string]string{"ToUserName": p.toUser, "Encrypt": encrypted})
	return deliver(p.handler, p.path, q, body)
}

// PushStoreEvent pushes a Store event (as Advance returns it) as WeChat
// does: signed and encrypted by crypter, to handler at path, which may
// forward it to a server in another process.
func PushStoreEvent(crypter *wxpush.Crypter, handler http.Handler, path string, event []byte, now time.Time) error {
	return storePush{crypter: crypter, handler: handler, path: path, toUser: "gh_sandbox"}.push(event, now)
}

// seal signs and encrypts message as WeChat does at now: the query of the
// push and its Encrypt field.
func seal(crypter *wxpush.Crypter, message []byte, now time.Time) (url.Values, string) {
	var random [16]byte
	_, _ = rand.Read(random[:])
	ts, nonce := strconv.FormatInt(now.Unix(), 10), strconv.FormatInt(now.UnixNano()%1e9, 10)
	encrypted, signature := crypter.Encrypt(message, random, ts, nonce)
	return url.Values{"timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"}, "msg_signature": {signature}}, encrypted
}

// deliver posts body to handler at path?q in-process, and says what was
// wrong when the answer is not WeChat's "success".
func deliver(handler http.Handler, path string, q url.Values, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, path+"?"+q.Encode(), bytes.NewReader(body))
	var a pushAnswer
	handler.ServeHTTP(&a, req)
	if a.code != 0 && a.code != http.StatusOK || a.body.String() != "success" {
		return fmt.Errorf("sandbox: %s answered %d %q, not \"success\"", path, a.code, strings.TrimSpace(a.body.String()))
	}
	return nil
}

// pushAnswer is a ResponseWriter for the sandbox's own pushes: WeChat reads
// the answer only to decide whether the push arrived.
type pushAnswer struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (a *pushAnswer) Header() http.Header {
	if a.header == nil {
		a.header = http.Header{}
	}
	return a.header
}
func (a *pushAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *pushAnswer) WriteHeader(code int) {
	if a.code == 0 {
		a.code = code
	}
}
