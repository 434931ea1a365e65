package wxpush

import (
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// The doc's event samples (§4), verbatim, and their kinds; ids beyond 2^53
// arrive as bare numbers and as strings.
func TestParseEventSamples(t *testing.T) {
	const id = 3705115058471208928
	for _, tt := range []struct {
		body string
		kind order.EventKind
		id   uint64
	}{
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_new","order_info":{"order_id":3705115058471208928}}`, order.EventCreated, id},
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_cancel","order_info":{"order_id":3705115058471208928,"cancel_type":1}}`, order.EventCancelled, id},
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_pay","order_info":{"order_id":"3705115058471208928","pay_time":"1658509200"}}`, order.EventPaid, id},
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_wait_shipping","order_info":{"order_id":3705115058471208928}}`, order.EventWaitingShipment, id},
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_deliver","order_info":{"order_id":3705115058471208928,"finish_delivery":1}}`, order.EventShipped, id},
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_confirm","order_info":{"order_id":"3705115058471208928","confirm_type":"1"}}`, order.EventConfirmed, id},
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_settle","order_info":{"order_id":"3705115058471208928","settle_time":"1662480000"}}`, order.EventSettled, id},
		{`{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_ext_info_update","order_info":{"order_id":3705115058471208928,"type":1}}`, order.EventExtInfoUpdated, id},
		{`{"ToUserName":"gh_*","FromUserName":"OpenID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_aftersale_update","finder_shop_aftersale_status_update":{"status":"USER_WAIT_RETURN","after_sale_order_id":"1234567","order_id":"12345","wxa_vip_discounted_price":100}}`, order.EventAftersaleUpdated, 12345},
	} {
		ev, ok, err := ParseEvent([]byte(tt.body), time.Now())
		if err != nil || !ok || ev.Kind != tt.kind || ev.OrderID != tt.id || !ev.At.Equal(time.Unix(1662480000, 0)) {
			t.Errorf("%s: %+v ok=%v err=%v", tt.body, ev, ok, err)
		}
	}
	ev, ok, err := ParseEvent([]byte(vectorBMessage), time.Now())
	if err != nil || !ok || ev.Kind != order.EventPaid || ev.OrderID != id {
		t.Errorf("vector B's message: %+v ok=%v err=%v", ev, ok, err)
	}
}

// Events this server does not serve are acknowledged and ignored; broken
// JSON is an error.
func TestParseEventOthers(t *testing.T) {
	for _, body := range []string{vectorAMessage, `{"Event":"product_spu_audit","order_info":{"order_id":1}}`, `{"Event":"channels_ec_order_new","order_info":{}}`} {
		if _, ok, err := ParseEvent([]byte(body), time.Now()); ok || err != nil {
			t.Errorf("%s: ok=%v err=%v, want ignored", body, ok, err)
		}
	}
	if _, _, err := ParseEvent([]byte(`{"Event":"channels_ec_order_new","order_info":{"order_id":`), time.Now()); err == nil {
		t.Error("broken JSON parsed")
	}
}

// The dedupe key is the same for a retry (same content, however the ids
// are typed; without CreateTime too, whenever it arrives) and differs for
// a different change of the same order.
func TestEventKey(t *testing.T) {
	received := time.Unix(1662480000, 0)
	key := func(body string) string {
		received = received.Add(time.Hour) // a retry comes later
		ev, _, err := ParseEvent([]byte(body), received)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Key
	}
	a := key(`{"CreateTime":1662480000,"Event":"channels_ec_order_ext_info_update","order_info":{"order_id":3705115058471208928,"type":1}}`)
	if b := key(`{"CreateTime":"1662480000","Event":"channels_ec_order_ext_info_update","order_info":{"order_id":"3705115058471208928","type":"1"}}`); a != b {
		t.Errorf("a retry keys %q and %q", a, b)
	}
	noTime := key(`{"Event":"channels_ec_order_ext_info_update","order_info":{"order_id":3705115058471208928,"type":1}}`)
	if again := key(`{"Event":"channels_ec_order_ext_info_update","order_info":{"order_id":"3705115058471208928","type":"1"}}`); again != noTime || noTime == a {
		t.Errorf("without CreateTime, a retry keys %q and %q (with it: %q)", noTime, again, a)
	}
	for _, other := range []string{
		`{"CreateTime":1662480000,"Event":"channels_ec_order_ext_info_update","order_info":{"order_id":3705115058471208928,"type":3}}`,
		`{"CreateTime":1662480001,"Event":"channels_ec_order_ext_info_update","order_info":{"order_id":3705115058471208928,"type":1}}`,
		`{"CreateTime":1662480000,"Event":"channels_ec_order_pay","order_info":{"order_id":3705115058471208928}}`,
	} {
		if key(other) == a {
			t.Errorf("%s keys like %s", other, a)
		}
	}
}
