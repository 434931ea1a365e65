package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/ordergraph/ordergraph/internal/redistest"
)

func TestRedisSharedQueriesAndReadiness(t *testing.T) {
	redis := redistest.Start(t)
	a := mustOpenServer(t, map[string]string{"REDIS_URL": redis.URL()})
	b := mustOpenServer(t, map[string]string{"REDIS_URL": redis.URL()})
	for _, s := range []*server{a, b} {
		s.Fake.SetOrder(1001, `{"order_id":1001}`)
	}
	query := `{ order(id: "1001") { id } }`
	sum := sha256.Sum256([]byte(query))
	ext := fmt.Sprintf(`"extensions":{"persistedQuery":{"version":1,"sha256Hash":"%s"}}`, hex.EncodeToString(sum[:]))
	if r := a.do(t, "POST", "/graphql", "application/json", fmt.Sprintf(`{"query":%q,%s}`, query, ext), nil); at(r.Data, "order.id") != "1001" {
		t.Fatalf("registering on a: %s", r.Raw)
	}
	if r := b.do(t, "POST", "/graphql", "application/json", `{`+ext+`}`, nil); at(r.Data, "order.id") != "1001" {
		t.Fatalf("a hash registered on one replica is unknown to another: %s", r.Raw)
	}

	if r := a.do(t, "GET", "/readyz", "", "", nil); r.Status != 200 || !strings.Contains(string(r.Raw), "redis: ok") {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	redis.Stop()
	r := a.do(t, "GET", "/readyz", "", "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Raw), "redis: unreachable") {
		t.Fatalf("with Redis down: %d %s", r.Status, r.Raw)
	}
	if r := a.post(t, `{ order(id: "1001") { id } }`, nil); at(r.Data, "order.id") != "1001" {
		t.Fatalf("serving stopped with Redis: %s", r.Raw)
	}
}
