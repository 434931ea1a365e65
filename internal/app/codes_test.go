package app_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/doctest"
)

// Each code of internal/codes, provoked from the outside, answers with the
// HTTP status codes.All gives it, for both response types: a field error is
// 200 with data, a refusal carries its status (application/json keeps 200
// for a well-formed request) and, having executed nothing, has no data.
func TestEveryCodeAsDocumented(t *testing.T) {
	post := func(query string) string {
		b, _ := json.Marshal(map[string]string{"query": query})
		return string(b)
	}
	type provoke struct {
		env    map[string]string
		setup  func(s *server)
		body   string
		header map[string]string
		// repeat sends the request this many times first (rate limits).
		repeat int
	}
	anyOrder := post(`{ order(id: "1001") { id } }`)
	codegen, _, _ := manifests(t)
	provokers := map[codes.Code]provoke{
		codes.OrderNotFound:            {body: post(`{ order(id: "404") { id } }`)},
		codes.AfterSaleNotFound:        {body: post(`{ aftersaleOrder(id: "404") { id } }`)},
		codes.BadUserInput:             {body: post(`{ order(id: "abc") { id } }`)},
		codes.UpstreamPermissionDenied: {setup: func(s *server) { s.Fake.SetErrcode(1001, 48001) }, body: anyOrder},
		codes.UpstreamRateLimited:      {setup: func(s *server) { s.Fake.SetErrcode(1001, 45011) }, body: anyOrder},
		codes.UpstreamAuthFailed:       {setup: func(s *server) { s.Fake.SetTokenErrcode(40125) }, body: anyOrder},
		codes.UpstreamUnavailable:      {setup: func(s *server) { s.Fake.SetErrcode(1001, -1) }, body: anyOrder},
		codes.BadRequest:               {body: `{"query":`},
		codes.Unauthenticated:          {env: map[string]string{"AUTH_MODE": "jwt", "JWT_SECRET": jwtSecret}, body: anyOrder},
		codes.RateLimited:              {env: map[string]string{"RATE_LIMIT": "1"}, body: anyOrder, repeat: 1},
		codes.Forbidden: {env: map[string]string{"AUTH_MODE": "jwt", "JWT_SECRET": jwtSecret, "INTROSPECTION": "true"},
			body: post(`{ __schema { queryType { name } } }`), header: map[string]string{"Authorization": "Bearer " + signedBuyer(t)}},
		codes.IntrospectionDisabled:   {env: map[string]string{"INTROSPECTION": "false"}, body: post(`{ __schema { queryType { name } } }`)},
		codes.DepthLimitExceeded:      {env: map[string]string{"MAX_QUERY_DEPTH": "1"}, body: post(`{ order(id: "1001") { orderDetail { priceInfo { freight } } } }`)},
		codes.AliasLimitExceeded:      {env: map[string]string{"MAX_ALIASES": "1"}, body: post(`{ a: order(id: "1001") { id } b: order(id: "1002") { id } }`)},
		codes.CostLimitExceeded:       {env: map[string]string{"MAX_QUERY_COST": "1"}, body: post(`{ orders(ids: ["1001", "1002"]) { id } }`)},
		codes.TrustedDocumentRequired: {env: map[string]string{"TRUSTED_DOCUMENTS": codegen, "TRUSTED_DOCUMENTS_ONLY": "true"}, body: anyOrder},
		codes.ParseFailed:             {body: post(`{ order(id: "1001") { id `)},
		codes.ValidationFailed:        {body: post(`{ order(id: "1001") { nope } }`)},
		codes.PersistedQueryNotFound:  {body: `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("ab", 32) + `"}}}`},
		// Provider mode (the sandbox playing a platform of 3 shops): a shop
		// that never authorized the platform.
		codes.ShopNotAuthorized: {env: map[string]string{"WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "", "SANDBOX_SHOPS": "3"},
			body: anyOrder, header: map[string]string{"X-Shop": "wxsandboxshop0009"}},
	}
	// A panic cannot be provoked from outside a correct server;
	// internal/httpserver tests it with a panicking order source.
	// SUBSCRIBER_TOO_SLOW needs a WebSocket: TestSlowSubscriberIsEndedAlone
	// provokes it.
	unreachable := map[codes.Code]bool{codes.Internal: true, codes.SubscriberTooSlow: true}

	for _, info := range codes.All {
		p, ok := provokers[info.Code]
		if !ok {
			if !unreachable[info.Code] {
				t.Errorf("%s: no request in this test provokes it", info.Code)
			}
			continue
		}
		for _, accept := range []string{"application/json", "application/graphql-response+json"} {
			t.Run(string(info.Code)+" "+accept, func(t *testing.T) {
				s := mustOpenServer(t, p.env)
				s.Fake.SetOrder(1001, `{"order_id":1001}`)
				if p.setup != nil {
					p.setup(s)
				}
				header := map[string]string{"Accept": accept}
				for k, v := range p.header {
					header[k] = v
				}
				for range p.repeat {
					s.do(t, "POST", "/graphql", "application/json", p.body, header)
				}
				r := s.do(t, "POST", "/graphql", "application/json", p.body, header)
				var top map[string]json.RawMessage
				if err := json.Unmarshal(r.Raw, &top); err != nil {
					t.Fatalf("not JSON: %s", r.Raw)
				}
				if !hasCode(r, info.Code) {
					t.Fatalf("no %s error: %d %s", info.Code, r.Status, r.Raw)
				}
				_, hasData := top["data"]
				if info.HTTP == 0 {
					if r.Status != http.StatusOK || !hasData {
						t.Errorf("a field error answered %d, data present %v; want 200 with data: %s", r.Status, hasData, r.Raw)
					}
					return
				}
				// Refused before execution: no data, unless the refusal is
				// a 200 by protocol (persisted queries).
				if hasData != (info.HTTP < 400) {
					t.Errorf("data present %v for a refusal with HTTP %d: %s", hasData, info.HTTP, r.Raw)
				}
				want := info.HTTP
				if accept == "application/json" && want == http.StatusBadRequest && info.Code != codes.BadRequest {
					want = http.StatusOK // a well-formed request, whatever its document
				}
				if r.Status != want {
					t.Errorf("status %d, want %d: %s", r.Status, want, r.Raw)
				}
			})
		}
	}
}

func hasCode(r *gqlResponse, code codes.Code) bool {
	for _, e := range r.Errors {
		if e.Extensions["code"] == string(code) {
			return true
		}
	}
	return false
}

func signedBuyer(t *testing.T) string { return hs(t, claims("buyer", "buyer-A")) }

// The README's error table is codes.All: one row per code, in order, with
// its HTTP status ("—" for a field error, which answers 200 with data).
func TestREADMEListsEveryCode(t *testing.T) {
	rows := doctest.Rows(t, "../../README.md", "Errors")
	if len(rows) != len(codes.All) {
		t.Errorf("README's error table has %d rows, internal/codes has %d codes", len(rows), len(codes.All))
	}
	for i, info := range codes.All {
		if i >= len(rows) {
			break
		}
		status := "—"
		if info.HTTP != 0 {
			status = strconv.Itoa(info.HTTP)
		}
		if rows[i][0] != "`"+string(info.Code)+"`" || len(rows[i]) < 3 || rows[i][1] != status {
			t.Errorf("README error row %d is %v, want `%s` with HTTP %s", i+1, rows[i], info.Code, status)
		}
	}
}

// The README's table of action refusals is codes.UserAll, row for row,
// and names every value of the contract's UserErrorCode enum.
func TestREADMEListsEveryUserErrorCode(t *testing.T) {
	rows := doctest.Rows(t, "../../README.md", "Action refusals")
	if len(rows) != len(codes.UserAll) {
		t.Errorf("README's action refusals table has %d rows, internal/codes has %d user codes", len(rows), len(codes.UserAll))
	}
	for i, info := range codes.UserAll {
		if i >= len(rows) || rows[i][0] != "`"+string(info.Code)+"`" || rows[i][1] != info.Meaning {
			t.Errorf("README action refusal row %d is %v, want `%s` | %s", i+1, rows[min(i, len(rows)-1)], info.Code, info.Meaning)
		}
	}
}
