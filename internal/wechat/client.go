package wechat

import (
	"context"
	"errors"
	opbudget "github.com/ordergraph/ordergraph/internal/budget"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// TokenSource hands out the access token for API calls. Invalidate reports
// that the upstream refused token, so the next Token call must not return it
// unless the upstream insists.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate(token string)
}

// Status is the errcode and errmsg that every WeChat answer carries. Reply
// types embed it, which is what makes them a Reply.
type Status struct {
	Errcode flex.Int
	Errmsg  flex.String
}

func (s *Status) status() *Status { return s }

// Err is nil for errcode 0 and otherwise the coded error the errcode means:
// the family's own meaning when family has one, else the meaning WeChat
// gives it for every API. The errmsg is kept as the cause, for logs only.
func (s *Status) Err(family Errcodes) error {
	if s.Errcode.V == 0 {
		return nil
	}
	return withErrmsg(family.errorFor(s.Errcode.V), s.Errmsg.V)
}

// ReadMember reads the errcode or errmsg member, as a Reply's ReadReply
// does for those names.
func (s *Status) ReadMember(d *flex.Decoder, name string) (err error) {
	switch name {
	case "errcode":
		s.Errcode, err = d.Int()
	case "errmsg":
		s.Errmsg, err = d.String()
	}
	return err
}

// StatusFields are the member names of Status, for a Reply's flex.Fields.
var StatusFields = []string{"errcode", "errmsg"}

// Reply is an answer of the WeChat API: a struct that embeds Status and
// reads itself from the answer in one pass. ReadReply starts from a zero
// reply, since a call that is retried reads into the same one again.
type Reply interface {
	status() *Status
	ReadReply(d *flex.Decoder) error
}

// Client calls the WeChat API with the access token. Family packages do all
// their upstream calls through Call.
type Client struct {
	transport *Transport
	tokens    TokenSource
}

// NewClient returns a client that calls through transport with tokens.
func NewClient(transport *Transport, tokens TokenSource) *Client {
	return &Client{transport: transport, tokens: tokens}
}

// Call posts body as JSON to path, with the access token, and decodes the
// answer into reply. A non-zero errcode becomes the *order.Error that family
// (then WeChat's shared table) gives it. When the upstream refuses the
// access token, Call gets a fresh one and retries once, so an expired token
// never reaches the client. Each call spends one of the operation's budget
// (package budget), and is refused without calling when none is left.
func (c *Client) Call(ctx context.Context, path string, body any, reply Reply, family Errcodes) error {
	if !opbudget.Spend(ctx) {
		return opbudget.ErrSpent
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return err
	}
	err = c.call(ctx, path, tok, body, reply, family)
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Errcode == nil || !tokenRejected(*oe.Errcode) {
		return err
	}
	c.tokens.Invalidate(tok)
	fresh, terr := c.tokens.Token(ctx)
	if terr != nil {
		return terr
	}
	if fresh == tok {
		// A static token, or an upstream that insists on the refused one:
		// retrying would fail the same way.
		return err
	}
	return c.call(ctx, path, fresh, body, reply, family)
}

// call makes the call with tok, retrying transient failures.
func (c *Client) call(ctx context.Context, path, tok string, body any, reply Reply, family Errcodes) error {
	return c.transport.withRetries(ctx, func(ctx context.Context) error {
		if err := c.transport.post(ctx, path, tok, body, reply); err != nil {
			return err
		}
		return reply.status().Err(family)
	})
}
