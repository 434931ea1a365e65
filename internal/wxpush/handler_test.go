package wxpush

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

type pushServer struct {
	*httptest.Server
	published []order.Event
	logs      bytes.Buffer
}

func newPushServer(t *testing.T, c *Crypter) *pushServer {
	s := &pushServer{}
	h := &Handler{Crypter: c, Publish: func(ev order.Event) { s.published = append(s.published, ev) },
		Seen: NewLocalSeen(RetryWindow, time.Now), Logger: slog.New(slog.NewTextHandler(&s.logs, nil))}
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func (s *pushServer) post(t *testing.T, query, body string) (int, string) {
	t.Helper()
	return answer(t)(http.Post(s.URL+"/?"+query, "application/json", strings.NewReader(body)))
}

func (s *pushServer) get(t *testing.T, query string) (int, string) {
	t.Helper()
	return answer(t)(http.Get(s.URL + "/?" + query))
}

// answer reads a response's status and body.
func answer(t *testing.T) func(*http.Response, error) (int, string) {
	return func(resp *http.Response, err error) (int, string) {
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
}

const vectorBQuery = "signature=8b620262450ad241493a3b2953b396ab1674e848&timestamp=1714112445&nonce=1320562132&encrypt_type=aes&msg_signature=173a8898819dea39efbf4ff914135e6ae1cd2eb4"

var vectorBBody = fmt.Sprintf(`{"ToUserName":"gh_1234567890ab","Encrypt":%q}`, vectorBEncrypt)

// Vector B as WeChat posts it is published once, however often it is
// retried; it answers "success" each time.
func TestPushIsPublishedOnce(t *testing.T) {
	s := newPushServer(t, mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"))
	for range 3 {
		if code, body := s.post(t, vectorBQuery, vectorBBody); code != 200 || body != "success" {
			t.Fatalf("%d %q", code, body)
		}
	}
	if len(s.published) != 1 || s.published[0].Kind != order.EventPaid || s.published[0].OrderID != 3705115058471208928 {
		t.Fatalf("published %+v", s.published)
	}
}

// A bad signature, a wrong key or another appid is 401 and publishes
// nothing; a body that is not the envelope is 400. The log names the
// setting to check, never a secret.
func TestPushRefusals(t *testing.T) {
	for name, tt := range map[string]struct {
		crypter *Crypter
		query   string
		body    string
		status  int
		log     string
	}{
		"bad signature": {mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"), strings.Replace(vectorBQuery, "msg_signature=173a", "msg_signature=073a", 1), vectorBBody, 401, "WECHAT_PUSH_TOKEN"},
		"wrong token":   {mustCrypter(t, "OtherToken", vectorBKey, "wx1234567890abcdef"), vectorBQuery, vectorBBody, 401, "WECHAT_PUSH_TOKEN"},
		"wrong key":     {mustCrypter(t, "StoreToken2025", strings.Repeat("B", 43), "wx1234567890abcdef"), vectorBQuery, vectorBBody, 401, "WECHAT_PUSH_AES_KEY"},
		"another appid": {mustCrypter(t, "StoreToken2025", vectorBKey, "wxOTHER"), vectorBQuery, vectorBBody, 401, "WECHAT_APP_ID"},
		"not json":      {mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"), vectorBQuery, `Encrypt=abc`, 400, ""},
		"no Encrypt":    {mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"), vectorBQuery, `{"ToUserName":"gh_1"}`, 400, ""},
	} {
		t.Run(name, func(t *testing.T) {
			s := newPushServer(t, tt.crypter)
			if code, body := s.post(t, tt.query, tt.body); code != tt.status || body == "success" {
				t.Fatalf("%d %q, want %d", code, body, tt.status)
			}
			if len(s.published) != 0 {
				t.Fatalf("published %+v", s.published)
			}
			logs := s.logs.String()
			if !strings.Contains(logs, tt.log) || strings.Contains(logs, "StoreToken2025") || strings.Contains(logs, vectorBKey) {
				t.Fatalf("log %q, want one naming %q and no secret", logs, tt.log)
			}
		})
	}
}

// The console's URL check gets echostr back verbatim when the signature
// holds, and 401 otherwise.
func TestPushURLCheck(t *testing.T) {
	s := newPushServer(t, mustCrypter(t, "AAAAA", strings.Repeat("A", 43), "wxba5fad812f8e6fb9"))
	if code, body := s.get(t, "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&timestamp=1714036504&nonce=1514711492&echostr=4375120948345356249"); code != 200 || body != "4375120948345356249" {
		t.Fatalf("%d %q", code, body)
	}
	if code, _ := s.get(t, "signature=0000&timestamp=1714036504&nonce=1514711492&echostr=4375120948345356249"); code != 401 {
		t.Fatalf("a bad signature answered %d", code)
	}
}

// Kept keys expire after the window; until then a key is seen once.
func TestLocalSeen(t *testing.T) {
	now := time.Unix(0, 0)
	s := NewLocalSeen(time.Hour, func() time.Time { return now })
	if !s.First(t.Context(), "a") || s.First(t.Context(), "a") {
		t.Fatal("a key is not new exactly once")
	}
	now = now.Add(59 * time.Minute)
	if s.First(t.Context(), "a") {
		t.Fatal("a key expired early")
	}
	now = now.Add(2 * time.Hour)
	if !s.First(t.Context(), "a") {
		t.Fatal("a key did not expire")
	}
}
