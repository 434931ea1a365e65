package wxpush

import (
	"strconv"
	"strings"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// kinds maps the Store's event names to kinds; other events (debug_demo,
// product events, …) are acknowledged and ignored.
var kinds = map[string]order.EventKind{
	"channels_ec_order_new":             order.EventCreated,
	"channels_ec_order_pay":             order.EventPaid,
	"channels_ec_order_cancel":          order.EventCancelled,
	"channels_ec_order_wait_shipping":   order.EventWaitingShipment,
	"channels_ec_order_deliver":         order.EventShipped,
	"channels_ec_order_confirm":         order.EventConfirmed,
	"channels_ec_order_settle":          order.EventSettled,
	"channels_ec_order_ext_info_update": order.EventExtInfoUpdated,
	"channels_ec_aftersale_update":      order.EventAftersaleUpdated,
}

var (
	eventFields   = flex.NewFields("Event", "CreateTime", "order_info", "finder_shop_aftersale_status_update")
	payloadFields = flex.NewFields("order_id", "after_sale_order_id", "type", "cancel_type", "finish_delivery", "confirm_type", "status")
)

// ParseEvent reads a decrypted event. ok is false for an event this
// server does not turn into an order event. Ids and codes arrive as
// numbers or strings and stay exact. An event without CreateTime is dated
// when it was received.
func ParseEvent(message []byte, received time.Time) (ev order.Event, ok bool, err error) {
	var name string
	var at flex.Time
	var sub []string // the payload's own fields, part of the dedupe key
	err = flex.Decode(message, func(d *flex.Decoder) error {
		_, err := d.Object(eventFields, func(member string) (err error) {
			switch member {
			case "Event":
				name, err = d.StringValue()
			case "CreateTime":
				at, err = d.Time()
			case "order_info", "finder_shop_aftersale_status_update":
				_, err = d.Object(payloadFields, func(field string) error {
					if field == "order_id" {
						id, err := d.ID()
						ev.OrderID = id
						return err
					}
					s, err := d.StringValue()
					sub = append(sub, field+"="+s)
					return err
				})
			}
			return err
		})
		return err
	})
	kind, known := kinds[name]
	if err != nil || !known || ev.OrderID == 0 {
		return order.Event{}, false, err
	}
	ev.Kind = kind
	// The dedupe key is the event's content, which WeChat's retries repeat;
	// never the time it was received, which they do not.
	created := "-"
	if at.Set {
		ev.At, created = at.T, strconv.FormatInt(at.T.Unix(), 10)
	} else {
		ev.At = received
	}
	ev.Key = strings.Join(append([]string{name, strconv.FormatUint(ev.OrderID, 10), created}, sub...), "|")
	return ev, true, nil
}
