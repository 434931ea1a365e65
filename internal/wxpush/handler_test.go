package wxpush

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

type pushServer struct {
	*httptest.Server
	mu        sync.Mutex
	published []order.Event
	logs      bytes.Buffer
	now       time.Time
	crashes   int // publishes that crash before the event is published
}

// vectorBTime is when vector B was signed.
var vectorBTime = time.Unix(1714112445, 0)

// newPushServer serves a handler whose clock stands at vector B's
// timestamp until the test moves it.
func newPushServer(t *testing.T, c *Crypter, rateLimit int) *pushServer {
	s := &pushServer{now: vectorBTime}
	clock := func() time.Time {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.now
	}
	publish := func(ev order.Event) {
		s.mu.Lock()
		crash := s.crashes > 0
		if crash {
			s.crashes--
		} else {
			s.published = append(s.published, ev)
		}
		s.mu.Unlock()
		if crash {
			panic(http.ErrAbortHandler) // the process dies here, as far as WeChat can tell
		}
	}
	h := NewHandler(Config{RateLimit: rateLimit, Now: clock}, c, publish, NewLocalSeen(RetryWindow, ProcessingTimeout, clock),
		slog.New(slog.NewTextHandler(&s.logs, nil)), nil)
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func (s *pushServer) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

func (s *pushServer) publishedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.published)
}

func (s *pushServer) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
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
	s := newPushServer(t, mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"), 0)
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
			s := newPushServer(t, tt.crypter, 0)
			if code, body := s.post(t, tt.query, tt.body); code != tt.status || body == "success" {
				t.Fatalf("%d %q, want %d", code, body, tt.status)
			}
			if len(s.published) != 0 {
				t.Fatalf("published %+v", s.published)
			}
			logs := s.logText()
			if !strings.Contains(logs, tt.log) || strings.Contains(logs, "StoreToken2025") || strings.Contains(logs, vectorBKey) {
				t.Fatalf("log %q, want one naming %q and no secret", logs, tt.log)
			}
		})
	}
}

// The console's URL check gets echostr back verbatim when the signature
// holds, and 401 otherwise.
func TestPushURLCheck(t *testing.T) {
	s := newPushServer(t, mustCrypter(t, "AAAAA", strings.Repeat("A", 43), "wxba5fad812f8e6fb9"), 0)
	if code, body := s.get(t, "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&timestamp=1714036504&nonce=1514711492&echostr=4375120948345356249"); code != 200 || body != "4375120948345356249" {
		t.Fatalf("%d %q", code, body)
	}
	if code, _ := s.get(t, "signature=0000&timestamp=1714036504&nonce=1514711492&echostr=4375120948345356249"); code != 401 {
		t.Fatalf("a bad signature answered %d", code)
	}
}

// A key is Unseen once, then Processing until Done or until the
// processing timeout; Done lasts for its window.
func TestLocalSeen(t *testing.T) {
	now := time.Unix(0, 0)
	s := NewLocalSeen(time.Hour, 5*time.Second, func() time.Time { return now })
	ctx := t.Context()
	if s.Claim(ctx, "a") != Unseen || s.Claim(ctx, "a") != Processing {
		t.Fatal("a key is not claimed exactly once")
	}
	now = now.Add(5 * time.Second)
	if s.Claim(ctx, "a") != Unseen {
		t.Fatal("a Processing mark outlived its timeout: a crash would keep the retries out")
	}
	s.Done(ctx, "a")
	now = now.Add(59 * time.Minute)
	if s.Claim(ctx, "a") != Done {
		t.Fatal("a Done mark expired early")
	}
	now = now.Add(2 * time.Hour)
	if s.Claim(ctx, "a") != Unseen {
		t.Fatal("a Done mark did not expire")
	}
}

// A push is taken from MaxSkew before its timestamp until MaxAge after it:
// WeChat's last retry, keeping its first timestamp, is published; an older
// replay, or one signed too far ahead, is refused 401 and publishes
// nothing.
func TestPushFreshness(t *testing.T) {
	c := mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef")
	for _, tt := range []struct {
		clock  time.Duration // from the timestamp
		status int
		log    string
	}{
		{-MaxSkew - time.Second, 401, "in the future"},
		{-MaxSkew, 200, ""},
		{3*time.Hour + 36*time.Minute + 10*time.Second + 50*time.Second, 200, ""}, // the last retry
		{MaxAge, 200, ""},
		{MaxAge + time.Second, 401, "a replay"},
		{30 * 24 * time.Hour, 401, "a replay"},
	} {
		s := newPushServer(t, c, 0)
		s.advance(tt.clock)
		code, body := s.post(t, vectorBQuery, vectorBBody)
		if code != tt.status || (code == 200) != (s.publishedCount() == 1) || !strings.Contains(s.logText(), tt.log) {
			t.Errorf("at %v from the timestamp: %d %q, %d published, log %q", tt.clock, code, body, s.publishedCount(), s.logText())
		}
	}
}

// A push taken at its earliest is still remembered at its latest: a replay
// within the window is acknowledged, never published again.
func TestPushReplayWithinTheWindow(t *testing.T) {
	s := newPushServer(t, mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"), 0)
	s.advance(-MaxSkew)
	s.post(t, vectorBQuery, vectorBBody)
	s.advance(MaxSkew + MaxAge)
	if code, body := s.post(t, vectorBQuery, vectorBBody); code != 200 || body != "success" || s.publishedCount() != 1 {
		t.Fatalf("%d %q, %d published", code, body, s.publishedCount())
	}
}

// A replica that crashes between taking a push and publishing it loses
// nothing: WeChat's retries meanwhile are told to retry (not "success"),
// and the one after the processing timeout is published, once.
func TestPushCrashLetsTheRetryThrough(t *testing.T) {
	s := newPushServer(t, mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"), 0)
	s.crashes = 1
	if resp, err := http.Post(s.URL+"/?"+vectorBQuery, "application/json", strings.NewReader(vectorBBody)); err == nil {
		resp.Body.Close()
		t.Fatal("the crashed delivery was answered")
	}
	if code, body := s.post(t, vectorBQuery, vectorBBody); code != 503 || body == "success" || s.publishedCount() != 0 {
		t.Fatalf("a retry while processing: %d %q", code, body)
	}
	s.advance(ProcessingTimeout)
	for range 2 {
		if code, body := s.post(t, vectorBQuery, vectorBBody); code != 200 || body != "success" {
			t.Fatalf("a retry after the timeout: %d %q", code, body)
		}
	}
	if n := s.publishedCount(); n != 1 {
		t.Fatalf("published %d times", n)
	}
}

// A flood of forged pushes is refused 401 and logged once a minute, the
// next line counting the refusals in between; over the rate limit it is
// refused 429 before any signature is checked.
func TestPushFloodIsLoggedOncePerInterval(t *testing.T) {
	s := newPushServer(t, mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef"), 100)
	forged := strings.Replace(vectorBQuery, "msg_signature=173a", "msg_signature=073a", 1)
	for range 100 {
		if code, _ := s.post(t, forged, vectorBBody); code != 401 {
			t.Fatalf("a forged push answered %d", code)
		}
	}
	if code, _ := s.post(t, vectorBQuery, vectorBBody); code != 429 || s.publishedCount() != 0 {
		t.Fatalf("over the limit, a push answered %d", code)
	}
	if n := strings.Count(s.logText(), "msg_signature does not match"); n != 1 {
		t.Fatalf("%d lines for 100 forged pushes:\n%s", n, s.logText())
	}
	s.advance(refusalLogEvery)
	s.post(t, forged, vectorBBody)
	if n := strings.Count(s.logText(), "msg_signature does not match"); n != 2 || !strings.Contains(s.logText(), "refused_since_last_line=99") {
		t.Fatalf("after a minute:\n%s", s.logText())
	}
	if code, _ := s.post(t, vectorBQuery, vectorBBody); code != 200 || s.publishedCount() != 1 {
		t.Fatalf("in a new minute, WeChat's push answered %d", code)
	}
}

// The platform's event endpoint gets the push endpoint's limit per
// address, counted apart.
func TestLimited(t *testing.T) {
	now := time.Unix(1700000000, 0)
	served := 0
	count := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ })
	h := Limited(Config{RateLimit: 2, Now: func() time.Time { return now }}, count)
	for i, want := range []int{200, 200, 429} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wechat/component/events", nil))
		if w.Code != want {
			t.Fatalf("request %d: %d, want %d", i+1, w.Code, want)
		}
	}
	now = now.Add(time.Minute)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wechat/component/events", nil))
	if w.Code != 200 || served != 3 {
		t.Fatalf("after a minute: %d, served %d", w.Code, served)
	}
	unlimited := Limited(Config{}, count)
	for range 5 {
		w := httptest.NewRecorder()
		unlimited.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wechat/component/events", nil))
		if w.Code == http.StatusTooManyRequests {
			t.Fatal("a zero limit limits")
		}
	}
}
