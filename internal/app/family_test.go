package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/config"
	"github.com/ordergraph/ordergraph/internal/families"
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/wechat"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// tiny is the smallest family there can be, written as docs/extending.md
// says a third family is: one value, with its calls on the WeChat core and
// its part of the sandbox. It answers orders only: no lists, no after-sale
// orders, no events.
var tiny = family.Family{
	Name:  "tiny",
	Title: "a test family with one call",
	Build: func(c *wechat.Client) family.Upstream { return family.Upstream{Orders: tinyOrders{c}} },
	Sandbox: family.Sandbox{Routes: func(*sandbox.Sandbox) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{"POST /tiny/order": func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				ID uint64 `json:"id,string"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			answer := map[string]any{"errcode": 100002, "errmsg": "not found"}
			if req.ID == 42 {
				answer = map[string]any{"errcode": 0, "order": map[string]any{"id": "42", "status": 30}}
			}
			_ = json.NewEncoder(w).Encode(answer)
		}}
	}, ExampleOrderID: 42},
}

type tinyOrders struct{ c *wechat.Client }

var tinyAnswer = wechat.NewSection("order", func(d *flex.Decoder, o *order.Order) error {
	_, err := d.Object(flex.NewFields("id", "status"), func(name string) (err error) {
		if name == "id" {
			o.ID, err = d.ID()
			return err
		}
		status, err := d.Int()
		o.StatusCode = status.V
		o.Status = order.OrderStatus("TO_BE_RECEIVED")
		return err
	})
	return err
})

func (t tinyOrders) Order(ctx context.Context, id uint64) (*order.Order, error) {
	reply := tinyAnswer.Reply()
	notFound := wechat.Errcodes{100002: {Code: codes.OrderNotFound, Message: "order not found"}}
	if err := t.c.Call(ctx, "/tiny/order", map[string]string{"id": strconv.FormatUint(id, 10)}, &reply, notFound); err != nil {
		return nil, err
	}
	return reply.Value, nil
}

// A family registered beside the built-in ones is served end to end, in
// sandbox mode, by nothing but its value: the real client, token and
// loader run against its sandbox routes, and what it lacks answers as
// unavailable.
func TestAThirdFamilyIsOneValue(t *testing.T) {
	cfg, err := config.LoadWith(families.All.With(tiny), nil, func(k string) string {
		return map[string]string{"UPSTREAM_FAMILY": "tiny", "ORDER_POLL_INTERVAL": "0s"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.start(t, cfg)
	r := s.post(t, `{ order(id: "42") { id status statusCode } missing: order(id: "7") { id } }`, nil)
	if got := at(r.Data, "order.id"); got != "42" || at(r.Data, "order.statusCode") != json.Number("30") {
		t.Fatalf("order 42: %s", r.Raw)
	}
	if r.code("missing") != string(codes.OrderNotFound) {
		t.Fatalf("order 7: %s", r.Raw)
	}
	if r = s.post(t, `{ listOrders { totalCount } }`, nil); r.code("listOrders") != string(codes.UpstreamUnavailable) {
		t.Fatalf("listOrders of a family without lists: %s", r.Raw)
	}
	if _, err := config.Load(nil, func(k string) string { return map[string]string{"UPSTREAM_FAMILY": "tiny"}[k] }, io.Discard); err == nil {
		t.Fatal("tiny is served by a build that does not list it")
	}
}
