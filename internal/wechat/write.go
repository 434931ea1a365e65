package wechat

import (
	"context"
	"errors"

	opbudget "github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// Writes differ from reads in one way that matters: WeChat's write calls
// carry no request id, so a write sent twice may apply twice (two parcels,
// two refunds). Write therefore makes one attempt, never the transient
// retries of Call, and marks a failure that may have reached WeChat
// (order.ErrMayHaveApplied) so that the caller reads the order back
// instead of guessing. Only a refused access token (40001, 40014, 42001) is
// retried with a fresh one: WeChat refused that call, so nothing applied.

// Refusal is what a write's errcode tells the caller: a user error code and
// a message that is safe to show.
type Refusal struct {
	Code    codes.UserCode
	Message string
}

// Refusals maps the errcodes of a write call to their refusal. An errcode
// neither in it nor in WeChat's shared table is codes.Rejected.
type Refusals map[int64]Refusal

// Write posts body to path once, with the access token, and decodes the
// answer into reply. A non-zero errcode is an *order.Refusal (refusals,
// else codes.Rejected), except the errcodes every API shares (quota,
// permission, token, -1), which stay the *order.Error a read gets. A
// failure after the request may have left (a timeout, a dropped
// connection, a 5xx, a garbled answer, -1) carries order.ErrMayHaveApplied.
// Like Call, it spends one of the operation's budget.
func (c *Client) Write(ctx context.Context, path string, body any, reply Reply, refusals Refusals) error {
	if !opbudget.Spend(ctx) {
		return opbudget.ErrSpent
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return err
	}
	err = c.write(ctx, path, tok, body, reply, refusals)
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Errcode == nil || !tokenRejected(*oe.Errcode) {
		return err
	}
	c.tokens.Invalidate(tok)
	fresh, terr := c.tokens.Token(ctx)
	if terr != nil || fresh == tok {
		if terr != nil {
			return terr
		}
		return err
	}
	return c.write(ctx, path, fresh, body, reply, refusals)
}

func (c *Client) write(ctx context.Context, path, tok string, body any, reply Reply, refusals Refusals) error {
	err := c.transport.once(ctx, func(ctx context.Context) error {
		if err := c.transport.post(ctx, path, tok, body, reply); err != nil {
			return err
		}
		return reply.status().Err(nil)
	})
	if err == nil {
		return nil
	}
	if transient(err) != "" {
		return &order.Error{Code: order.ErrorCode(err), Message: messageOf(err), Errcode: errcodeOf(err), Cause: errors.Join(order.ErrMayHaveApplied, err)}
	}
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Errcode == nil {
		return err // nothing was sent: the breaker, the rate limit, a cancelled wait
	}
	if r, ok := refusals[*oe.Errcode]; ok {
		return &order.Refusal{Code: r.Code, Message: r.Message, Errcode: oe.Errcode}
	}
	if _, infra := shared[*oe.Errcode]; infra {
		return err
	}
	return &order.Refusal{Code: codes.Rejected, Message: "WeChat refused the action", Errcode: oe.Errcode}
}

// WriteReply is a write's answer, of which only the status matters. An
// answer that is no object (a bare null) is malformed, so that a write
// whose answer says nothing counts as one that may have applied, never as
// a success.
type WriteReply struct{ Status }

var writeReplyFields = flex.NewFields(StatusFields...)

func (r *WriteReply) ReadReply(d *flex.Decoder) error {
	*r = WriteReply{}
	null, err := d.Object(writeReplyFields, func(name string) error { return r.ReadMember(d, name) })
	if null {
		return errors.New("want an object")
	}
	return err
}

// once runs one attempt behind the rate limit and the breaker, without
// retries.
func (t *Transport) once(ctx context.Context, attempt func(context.Context) error) error {
	if err := t.admit(ctx); err != nil {
		return err
	}
	return t.guarded(ctx, attempt)
}

func messageOf(err error) string {
	var oe *order.Error
	if errors.As(err, &oe) {
		return oe.Message
	}
	return "upstream failed"
}

func errcodeOf(err error) *int64 {
	var oe *order.Error
	if errors.As(err, &oe) {
		return oe.Errcode
	}
	return nil
}
