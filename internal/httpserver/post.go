package httpserver

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// post is GraphQL over HTTP POST, as gqlgen's transport.POST serves it,
// but for how an executed operation's answer is written: gqlgen marshals
// the whole response with encoding/json, which scans and copies the
// "data" gqlgen has just written as JSON, byte by byte (json.RawMessage
// is compacted): about a tenth of the server's CPU on a large answer.
// Here "data" goes out as written. The content type, the statuses and
// the answers to requests that are not run are gqlgen's (the GraphQL over
// HTTP rules; specResponse then drops their "data").
type post struct{ transport.POST }

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

func (post) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media := responseMedia(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media)
	var body bytes.Buffer
	if _, err := body.ReadFrom(r.Body); err != nil {
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("could not read request body: %+v", err)}))
		return
	}
	start := graphql.Now()
	params := &graphql.RawParams{Headers: r.Header}
	dec := json.NewDecoder(&body)
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("json request body could not be decoded: %+v", err)}))
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		w.WriteHeader(refusalStatus(media, opErr))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeResponse(w, responses(ctx))
}

// responseMedia is the media type of the answer: the first of the Accept
// header's that GraphQL over HTTP serves, application/json without one.
func responseMedia(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		media, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch media {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// refusalStatus is the status of a request refused before it ran: a
// protocol error (the document does not parse or validate) is 4xx, by the
// rules of its media type.
func refusalStatus(media string, errs gqlerror.List) int {
	switch {
	case errcode.GetErrorKind(errs) != errcode.KindProtocol:
		return http.StatusOK
	case media == mediaGraphQLResponse:
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// writeResponse writes resp in the shape encoding/json gives it, with its
// data as it is: gqlgen wrote it, as valid compact JSON.
func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	if resp == nil {
		// gqlgen answers nothing to a client gone before its operation
		// ran (and to a subscription posted here that ended empty).
		_, _ = w.Write([]byte("null"))
		return
	}
	if resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		// Incremental delivery, which POST does not serve: as gqlgen does.
		b, _ := json.Marshal(resp)
		_, _ = w.Write(b)
		return
	}
	out := make([]byte, 0, len(resp.Data)+128)
	out = append(out, '{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			panic(err) // gqlgen's error list always marshals
		}
		out = append(append(append(out, `"errors":`...), errs...), ',')
	}
	out = append(out, `"data":`...)
	if len(resp.Data) == 0 {
		out = append(out, "null"...)
	} else {
		out = append(out, resp.Data...)
	}
	if len(resp.Extensions) > 0 {
		ext, err := json.Marshal(resp.Extensions)
		if err != nil {
			panic(err) // the server's extensions are plain values
		}
		out = append(append(out, `,"extensions":`...), ext...)
	}
	_, _ = w.Write(append(out, '}'))
}
