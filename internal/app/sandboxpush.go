package app

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

	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

// sandboxEventInterval is how often the Store sandbox moves an order on and
// pushes its event: often enough to watch in the playground.
var sandboxEventInterval = 5 * time.Second

// sandboxPushKeys makes a push Token and EncodingAESKey for this run.
func sandboxPushKeys() (token, encodingAESKey string) {
	var t [16]byte
	var key [32]byte
	_, _ = rand.Read(t[:])
	_, _ = rand.Read(key[:])
	return hex.EncodeToString(t[:]), base64.RawStdEncoding.EncodeToString(key[:])
}

// sandboxEvents plays a live shop in sandbox mode: every
// sandboxEventInterval a catalogue order moves on. With the Store family
// its event, signed and encrypted as WeChat does it, goes through the
// server's own push handler (encrypted with its own keys), so that the
// whole path runs as in production; with Mini Shop (push nil), which pushes
// nothing, the poller finds the change.
func sandboxEvents(sb *sandbox.Sandbox, push *wxpush.Handler) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(sandboxEventInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				_, event := sb.Advance(now)
				if push != nil {
					sandboxPush(event, push, now)
				}
			}
		}
	}()
	return func() { close(done) }
}

func sandboxPush(event []byte, push *wxpush.Handler, now time.Time) {
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
