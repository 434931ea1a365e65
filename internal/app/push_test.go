package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/wechattest"
	"github.com/ordergraph/ordergraph/internal/wxpush"
)

const (
	pushToken = "PushToken-test-5e1f"
	pushKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

var pushEnv = map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": pushToken, "WECHAT_PUSH_AES_KEY": pushKey}

// push posts message to the server's push URL as WeChat does, encrypted
// for appID and signed now.
func push(t *testing.T, s *server, appID, message string) (int, string) {
	t.Helper()
	return pushSigned(t, s, appID, message, time.Now())
}

// pushSigned is push with the signature's timestamp at signed.
func pushSigned(t *testing.T, s *server, appID, message string, signed time.Time) (int, string) {
	t.Helper()
	c, err := wxpush.NewCrypter(pushToken, pushKey, appID)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(signed.Unix(), 10)
	enc, sig := c.Encrypt([]byte(message), [16]byte{1, 2, 3}, ts, "42")
	q := url.Values{"timestamp": {ts}, "nonce": {"42"}, "encrypt_type": {"aes"}, "msg_signature": {sig}}
	r := s.do(t, "POST", "/wechat/events?"+q.Encode(), "application/json", fmt.Sprintf(`{"ToUserName":"gh_1","Encrypt":%q}`, enc), nil)
	return r.Status, string(r.Raw)
}

// The push URL takes WeChat's signed events without client credentials,
// under the production auth defaults; each event is published (logged)
// once however often WeChat retries it, ids exact. One for another appid
// is refused and publishes nothing.
func TestPushEndToEnd(t *testing.T) {
	s := secureServer(t, pushEnv)
	event := `{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1714112445,"MsgType":"event","Event":"channels_ec_order_deliver","order_info":{"order_id":9223372036854775807,"finish_delivery":1}}`
	for range 3 {
		if code, body := push(t, s, wechattest.AppID, event); code != http.StatusOK || body != "success" {
			t.Fatalf("%d %q", code, body)
		}
	}
	if n := strings.Count(s.logText(), `"msg":"order event"`); n != 1 || !strings.Contains(s.logText(), `"kind":"SHIPPED","order_id":"9223372036854775807"`) {
		t.Fatalf("%d events logged, want 1 SHIPPED of 9223372036854775807:\n%s", n, s.logText())
	}
	if code, _ := push(t, s, "wxSOMEONEELSE", strings.Replace(event, "1714112445", "1714112446", 1)); code != http.StatusUnauthorized {
		t.Fatalf("another appid's event answered %d", code)
	}
	if n := strings.Count(s.logText(), `"msg":"order event"`); n != 1 {
		t.Fatalf("a refused event was published")
	}
	if r := s.do(t, "GET", "/graphql?query={__typename}", "", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("client routes lost their authentication: %d", r.Status)
	}
}

// The push settings are checked at start-up: Store only, safe mode, a
// 43-character key, the appid to check events against.
func TestPushSettings(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"UPSTREAM_FAMILY": "minishop", "WECHAT_PUSH_TOKEN": "t", "WECHAT_PUSH_AES_KEY": pushKey}, "WECHAT_PUSH_TOKEN needs UPSTREAM_FAMILY=store"},
		{map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": "t"}, "WECHAT_PUSH_AES_KEY is required"},
		{map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_AES_KEY": pushKey}, "WECHAT_PUSH_TOKEN is required"},
		{map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": "t", "WECHAT_PUSH_AES_KEY": "short"}, "WECHAT_PUSH_AES_KEY is not 43 base64 characters"},
		{map[string]string{"UPSTREAM_FAMILY": "store", "WECHAT_PUSH_TOKEN": "t", "WECHAT_PUSH_AES_KEY": pushKey, "WECHAT_APP_ID": "", "WECHAT_ACCESS_TOKEN": "x"}, "WECHAT_APP_ID is required with WECHAT_PUSH_TOKEN"},
	} {
		var out, errOut syncBuf
		env := map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"}
		for k, v := range tt.env {
			env[k] = v
		}
		if code := runOnce(env, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tt.want) || strings.Contains(errOut.String(), pushKey) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.env, code, errOut.String(), tt.want)
		}
	}
}
