package sandbox

import (
	"fmt"
	"testing"
)

// quota/get answers from the calls served, per path, its own not counted.
func TestQuotaGetCountsCallsServed(t *testing.T) {
	s := New(0, StoreRoutes)
	token := s.accessToken()
	orderGet(t, s, token, 1)
	orderGet(t, s, token, 2)
	for range 2 {
		v := call(t, s, QuotaPath, "access_token="+token, `{"cgi_path":"/channels/ec/order/get"}`)
		wantErrcode(t, "quota/get", v, 0)
		if got := fmt.Sprint(v["quota"]); got != "map[daily_limit:10000 remain:9998 used:2]" {
			t.Fatalf("quota %s, want 2 of 10000 used", got)
		}
	}
	wantErrcode(t, "quota/get without the token", call(t, s, QuotaPath, "", `{"cgi_path":"/x"}`), 40001)
}
