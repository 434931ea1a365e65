package httpserver

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// An answer is written as encoding/json writes gqlgen's response, but for
// "data", which goes out as gqlgen wrote it.
func TestAnswersAreWrittenAsGqlgenDoes(t *testing.T) {
	for name, resp := range map[string]*graphql.Response{
		"data":                  {Data: json.RawMessage(`{"order":{"id":"18446744073709551615","notes":"<b>"}}`)},
		"no data":               {},
		"errors and extensions": {Data: json.RawMessage(`{"order":null}`), Errors: gqlerror.List{{Message: "order not found", Extensions: map[string]any{"code": "ORDER_NOT_FOUND"}}}, Extensions: map[string]any{"cost": map[string]int{"requested": 1, "limit": 100}}},
	} {
		w := httptest.NewRecorder()
		writeResponse(w, resp)
		var got, want any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: not JSON: %s", name, w.Body)
		}
		b, _ := json.Marshal(resp)
		_ = json.Unmarshal(b, &want)
		if g, _ := json.Marshal(got); string(g) != string(mustMarshal(want)) {
			t.Errorf("%s: wrote %s, want %s", name, w.Body, b)
		}
	}
}

// No response (the client went away before its operation ran) is
// written as gqlgen writes it, not a panic.
func TestNoResponseIsNull(t *testing.T) {
	w := httptest.NewRecorder()
	writeResponse(w, nil)
	if w.Body.String() != "null" {
		t.Fatalf("wrote %q", w.Body)
	}
}

func mustMarshal(v any) []byte { b, _ := json.Marshal(v); return b }

func TestResponseMedia(t *testing.T) {
	for accept, want := range map[string]string{
		"": mediaJSON, "*/*": mediaJSON, "application/json": mediaJSON,
		"application/graphql-response+json, application/json;q=0.9": mediaGraphQLResponse,
		"text/html, application/*":                                  mediaJSON,
		"text/html":                                                 mediaGraphQLResponse,
	} {
		if got := responseMedia(accept); got != want {
			t.Errorf("Accept %q: %s, want %s", accept, got, want)
		}
	}
}
