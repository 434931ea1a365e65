package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/ordergraph/ordergraph/graph"
	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
)

// TrustedDocuments are the operations a client app ships (TRUSTED_DOCUMENTS),
// by the ids its build tooling gave them, by the sha256 of their text and
// by their text.
type TrustedDocuments struct {
	// byID holds each operation under its manifest id and under
	// "sha256:<hex>", the GraphQL-over-HTTP proposal's documentId.
	byID map[string]string
	// bySHA256 holds each under the hex sha256 of its text, which APQ's
	// extensions.persistedQuery.sha256Hash names.
	bySHA256 map[string]string
	text     map[string]bool
}

// ParseTrustedDocuments reads a persisted-document manifest, in either of
// the formats client build tools write:
//   - GraphQL Codegen's client preset (persistedDocuments: true), a JSON
//     object of id (the hash of the document) → document;
//   - Apollo's persisted-query manifest (generate-persisted-query-manifest):
//     {"format": "apollo-persisted-query-manifest", "version": 1,
//     "operations": [{"id", "name", "type", "body"}]}.
//
// Every document must parse and fit the served schema, so that a manifest
// built for another API stops start-up rather than refusing every request.
func ParseTrustedDocuments(data []byte) (*TrustedDocuments, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("is not a JSON object: %w", err)
	}
	docs := map[string]string{}
	if _, apollo := top["format"]; apollo {
		var m struct {
			Format     string `json:"format"`
			Version    int    `json:"version"`
			Operations []struct {
				ID   string `json:"id"`
				Body string `json:"body"`
			} `json:"operations"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("is not an Apollo persisted-query manifest: %w", err)
		}
		if m.Format != "apollo-persisted-query-manifest" || m.Version != 1 {
			return nil, fmt.Errorf("has format %q version %d; want apollo-persisted-query-manifest version 1, or GraphQL Codegen's object of id → document", m.Format, m.Version)
		}
		for i, op := range m.Operations {
			if op.ID == "" || op.Body == "" {
				return nil, fmt.Errorf("operation %d has no id or no body", i+1)
			}
			if body, dup := docs[op.ID]; dup && body != op.Body {
				return nil, fmt.Errorf("id %q names two documents", op.ID)
			}
			docs[op.ID] = op.Body
		}
	} else {
		for id, raw := range top {
			var body string
			if err := json.Unmarshal(raw, &body); err != nil || body == "" {
				return nil, fmt.Errorf("id %q: want a document as a JSON string", id)
			}
			docs[id] = body
		}
	}
	if len(docs) == 0 {
		return nil, errors.New("has no documents")
	}
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	t := &TrustedDocuments{byID: map[string]string{}, bySHA256: map[string]string{}, text: map[string]bool{}}
	for id, body := range docs {
		doc, err := parser.ParseQuery(&ast.Source{Input: body})
		if err == nil {
			if errs := validator.ValidateWithRules(schema, doc, nil); len(errs) > 0 {
				err = errs
			}
		}
		if err != nil {
			return nil, fmt.Errorf("document %q does not fit the schema: %w", id, err)
		}
		sum := sha256Hex(body)
		t.byID[id], t.byID["sha256:"+sum], t.bySHA256[sum], t.text[body] = body, body, body, true
	}
	return t, nil
}

// trustedOnly lets callers without the merchant role (all callers, with
// TRUSTED_DOCUMENTS_ONLY) run only trusted documents. It is a parameter
// mutator, so it runs before anything is parsed, on every transport; and
// it runs before APQ, so that an APQ hash names a trusted document, never
// one that another caller registered.
type trustedOnly struct {
	docs *TrustedDocuments
	// all holds merchants to the documents too.
	all bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = trustedOnly{}

func (trustedOnly) ExtensionName() string                   { return "TrustedDocuments" }
func (trustedOnly) Validate(graphql.ExecutableSchema) error { return nil }

// documentIDKey is where a request's documentId travels: liftDocumentID
// moves the top-level field there, and a WebSocket or SSE client may send
// it there itself.
const documentIDKey = "documentId"

func (t trustedOnly) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	if id, ok := raw.Extensions[documentIDKey].(string); ok {
		body, known := t.docs.byID[id]
		if !known || (raw.Query != "" && raw.Query != body) {
			return untrusted("no trusted document has this documentId, or the query sent with it differs")
		}
		raw.Query = body
		return nil
	}
	if pq, ok := raw.Extensions["persistedQuery"].(map[string]any); ok {
		hash, _ := pq["sha256Hash"].(string)
		if body, known := t.docs.bySHA256[hash]; known && (raw.Query == "" || raw.Query == body) {
			raw.Query = body
			return nil
		}
	}
	if !t.all && auth.FromContext(ctx).Role == auth.RoleMerchant {
		return nil
	}
	if !t.docs.text[raw.Query] {
		return untrusted("this caller may run only the app's trusted documents: send a documentId, a persisted query hash, or a document's identical text")
	}
	return nil
}

func untrusted(msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	err.Extensions = map[string]any{"code": string(codes.TrustedDocumentRequired)}
	return err
}

// liftDocumentID moves the documentId of a GraphQL-over-HTTP request (a
// top-level member of a POST body, a GET parameter) into its extensions:
// gqlgen's transports read only query, operationName, variables and
// extensions, and drop the rest. The body has been read into memory by
// limitBody; a body that is not a JSON object goes on as it came, for
// gqlgen to refuse.
func liftDocumentID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			q := r.URL.Query()
			if id := q.Get(documentIDKey); id != "" {
				if ext, err := withDocumentID([]byte(q.Get("extensions")), id); err == nil {
					q.Del(documentIDKey)
					q.Set("extensions", string(ext))
					r.URL.RawQuery = q.Encode()
				}
			}
		case http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte(`"`+documentIDKey+`"`)) {
				body = liftFromBody(body)
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		next.ServeHTTP(w, r)
	})
}

func liftFromBody(body []byte) []byte {
	var req map[string]json.RawMessage
	var id string
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(req[documentIDKey], &id) != nil {
		return body
	}
	ext, err := withDocumentID(req["extensions"], id)
	if err != nil {
		return body
	}
	delete(req, documentIDKey)
	req["extensions"] = ext
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}

// withDocumentID adds id to extensions (a JSON object, null or empty).
func withDocumentID(extensions []byte, id string) ([]byte, error) {
	ext := map[string]any{}
	if len(bytes.TrimSpace(extensions)) > 0 {
		if err := json.Unmarshal(extensions, &ext); err != nil {
			return nil, err
		}
		if ext == nil { // null
			ext = map[string]any{}
		}
	}
	ext[documentIDKey] = id
	return json.Marshal(ext)
}
