package order

import "time"

// EventKind is what happened to an order, as the contract's OrderEventKind
// names it.
type EventKind string

const (
	EventCreated          EventKind = "CREATED"
	EventPaid             EventKind = "PAID"
	EventCancelled        EventKind = "CANCELLED"
	EventWaitingShipment  EventKind = "WAITING_SHIPMENT"
	EventShipped          EventKind = "SHIPPED"
	EventConfirmed        EventKind = "CONFIRMED"
	EventSettled          EventKind = "SETTLED"
	EventExtInfoUpdated   EventKind = "EXT_INFO_UPDATED"
	EventAftersaleUpdated EventKind = "AFTERSALE_UPDATED"
	EventUpdated          EventKind = "UPDATED" // found by polling
)

// Event is one change of one order, as an upstream reported it. It is a
// trigger, not a record: who may see it is decided on the order fetched
// when it is delivered, never on the event's own claims.
type Event struct {
	Kind    EventKind
	OrderID uint64
	// At is when the upstream says the change happened.
	At time.Time
	// Key identifies the event for dedupe: WeChat retries a push with the
	// same content but sends no message id.
	Key string
}

// EventFilter is a client's orderEvents filter, as sent. OrderID is the
// text of the id; it is checked before the subscription starts.
type EventFilter struct {
	Kinds   []EventKind
	OrderID *string
}
