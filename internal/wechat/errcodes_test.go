package wechat

import (
	"errors"
	"testing"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// A family's own meaning of an errcode wins over WeChat's shared one; an
// errcode neither knows is an unavailable upstream. The errcode is always
// kept, and the errmsg reaches the cause, never the message.
func TestStatusErr(t *testing.T) {
	family := Errcodes{100002: {codes.OrderNotFound, "order not found"}, 45011: {codes.BadUserInput, "family override"}}
	tests := []struct {
		body string
		code codes.Code
		msg  string
	}{
		{`{"errcode":100002,"errmsg":"not exist rid: 1"}`, codes.OrderNotFound, "order not found"},
		{`{"errcode":"45011"}`, codes.BadUserInput, "family override"},
		{`{"errcode":45009}`, codes.UpstreamRateLimited, "upstream daily call quota exhausted"},
		{`{"errcode":-1}`, codes.UpstreamUnavailable, "upstream system busy"},
		{`{"errcode":40001}`, codes.UpstreamAuthFailed, "upstream rejected the access token"},
		{`{"errcode":48001}`, codes.UpstreamPermissionDenied, "the app has no permission for this API; enable it in the WeChat admin console"},
		{`{"errcode":61234}`, codes.UpstreamUnavailable, "upstream failed"},
	}
	for _, tt := range tests {
		s := decodeStatus(t, tt.body)
		var oe *order.Error
		if err := s.Err(family); !errors.As(err, &oe) || oe.Code != tt.code || oe.Message != tt.msg || oe.Errcode == nil || *oe.Errcode != s.Errcode.V {
			t.Errorf("%s: got %v, want %s %q", tt.body, err, tt.code, tt.msg)
		}
	}
	var ok Status
	if err := ok.Err(family); err != nil {
		t.Errorf("errcode 0: %v", err)
	}
	s := decodeStatus(t, `{"errcode":100002,"errmsg":"order not exist rid: 5"}`)
	if err := s.Err(nil); errors.Unwrap(err) == nil || errors.Unwrap(err).Error() != "upstream errmsg: order not exist rid: 5" {
		t.Errorf("errmsg not kept as the cause: %v", errors.Unwrap(err))
	}
}

// statusReply is a Reply with nothing but the status.
type statusReply struct{ Status }

var statusFields = flex.NewFields(StatusFields...)

func (r *statusReply) ReadReply(d *flex.Decoder) error {
	*r = statusReply{}
	_, err := d.Object(statusFields, func(name string) error { return r.ReadMember(d, name) })
	return err
}

func decodeStatus(t *testing.T, body string) Status {
	t.Helper()
	var r statusReply
	if err := flex.Decode([]byte(body), r.ReadReply); err != nil {
		t.Fatal(err)
	}
	return r.Status
}
