package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// extensions decodes a response's extensions.
func extensions(t *testing.T, raw []byte) map[string]map[string]float64 {
	t.Helper()
	var v struct {
		Extensions map[string]map[string]float64 `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return v.Extensions
}

// Over HTTP GET and POST and each operation on a WebSocket, the response
// says what the document cost and where the caller stands in its
// RATE_LIMIT bucket, the one HTTP and the socket share; HTTP responses
// say the latter in the IETF draft's headers too.
func TestCostAndRateLimitOnEveryTransport(t *testing.T) {
	s := secureServer(t, map[string]string{"RATE_LIMIT": "6"})
	key := map[string]string{"X-API-Key": opsKey}
	r := s.do(t, "GET", "/graphql?query="+url.QueryEscape(`{ order(id: "3001") { id } }`), "", "", key)
	ext := extensions(t, r.Raw)
	if ext["cost"]["requested"] != 1 || ext["cost"]["limit"] != 100 || ext["rateLimit"]["limit"] != 6 || ext["rateLimit"]["remaining"] != 5 {
		t.Fatalf("GET: extensions %v", ext)
	}
	if r.Header.Get("RateLimit-Limit") != "6" || r.Header.Get("RateLimit-Remaining") != "5" || r.Header.Get("RateLimit-Reset") != fmt.Sprint(ext["rateLimit"]["resetSeconds"]) {
		t.Fatalf("GET: headers %v", r.Header)
	}
	r = s.do(t, "POST", "/graphql", "application/json", `{"query":"{ a: order(id: \"3001\") { id } b: order(id: \"3002\") { id } }"}`, key)
	if ext := extensions(t, r.Raw); ext["cost"]["requested"] != 2 || ext["rateLimit"]["remaining"] != 4 {
		t.Fatalf("POST: extensions %v", ext)
	}

	c, err := dialWS(t, s, map[string]any{"X-API-Key": opsKey}) // the upgrade counts against the IP
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		c.subscribe(fmt.Sprint(i), `{ order(id: "3001") { id } }`)
		m := c.next(5 * time.Second)
		ext := extensions(t, m.Payload)
		if ext["cost"]["requested"] != 1 || ext["rateLimit"]["remaining"] != float64(3-i) {
			t.Fatalf("operation %d on the socket: %s", i, m.Payload)
		}
		c.next(5 * time.Second) // complete
	}
	if r := s.do(t, "POST", "/graphql", "application/json", `{"query":"{ __typename }"}`, key); r.Status != http.StatusTooManyRequests || r.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("over the limit: %d %v", r.Status, r.Header)
	}
}
