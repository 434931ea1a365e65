package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
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
	if push != nil {
		s.mu.Lock()
		s.emit = func(event []byte, now time.Time) { pushEvent(event, push, now) }
		s.mu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				if _, event := s.Advance(now); push != nil && event != nil {
					pushEvent(event, push, now)
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

func pushEvent(event []byte, push *wxpush.Handler, now time.Time) {
	var random [16]byte
	_, _ = rand.Read(random[:])
	ts, nonce := strconv.FormatInt(now.Unix(), 10), strconv.FormatInt(now.UnixNano()%1e9, 10)
	encrypted, signature := push.Crypter.Encrypt(event, random, ts, nonce)
	body, _ := json.Marshal(map[string]string{"ToUserName": "gh_sandbox", "Encrypt": encrypted})
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"}, "msg_signature": {signature}}
	req, _ := http.NewRequest(http.MethodPost, "/wechat/events?"+q.Encode(), bytes.NewReader(body))
	push.ServeHTTP(discard{header: http.Header{}}, req)
}

// discard is a ResponseWriter for the sandbox's own pushes: WeChat reads
// the answer only to decide whether to retry.
type discard struct{ header http.Header }

func (d discard) Header() http.Header       { return d.header }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
