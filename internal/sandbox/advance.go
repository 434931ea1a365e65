package sandbox

import "time"

// The sandbox plays a live shop: Advance moves one catalogue order a step
// on, as a buyer and a merchant would, so that events have something to
// tell. Both families' shapes of the order change together.

// nextStep is where each status goes, and the WeChat Store event that
// tells of it.
var nextStep = map[int64]struct {
	status int64
	event  string
}{
	10:  {20, "channels_ec_order_pay"},
	20:  {30, "channels_ec_order_deliver"},
	21:  {30, "channels_ec_order_deliver"},
	30:  {100, "channels_ec_order_confirm"},
	100: {100, "channels_ec_order_settle"},
	181: {181, "channels_ec_order_ext_info_update"},
	250: {250, "channels_ec_order_ext_info_update"},
}

// Advance moves the next catalogue order (newest first, in turn) a step on
// at now, and returns the WeChat Store event that tells of it, as the
// decrypted JSON WeChat would push. It passes over the orders kept for the
// write calls and those a write changed; with none left, it moves nothing
// and returns no event.
func (s *Sandbox) Advance(now time.Time) (orderID uint64, event []byte) {
	return s.AdvanceNewest(CatalogueSize, now)
}

// AdvanceNewest is Advance among the n newest catalogue orders only: those
// a dashboard of the last days shows (the load benchmark's changes).
func (s *Sandbox) AdvanceNewest(n int, now time.Time) (orderID uint64, event []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(max(n, 1), len(s.catalogue.orders))
	for range n {
		i := s.advanced % n
		s.advanced++
		o := s.catalogue.orders[i]
		orderID = o["order_id"].(uint64)
		if s.kept(orderID) {
			continue
		}
		step := nextStep[o["status"].(int64)]
		o["status"], o["update_time"] = step.status, wallClock(now)
		s.catalogue.set(i, o)
		return orderID, storeEvent(o["openid"].(string), now, step.event, map[string]any{"order_info": map[string]any{"order_id": idText(orderID)}})
	}
	return 0, nil
}
