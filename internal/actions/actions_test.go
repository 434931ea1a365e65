package actions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/auth"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// shop is an order.Writer over orders in memory that counts writes, sees
// overlapping ones, and fails as a test scripts.
type shop struct {
	mu         sync.Mutex
	orders     map[uint64]*order.Order
	afterSales map[uint64]*order.AfterSaleOrder
	writes     int
	inFlight   int
	peak       int
	// fault, when set, decides each write (numbered from 1): whether it
	// applies, and the error it answers.
	fault func(n int) (apply bool, err error)
	// readErr, when set, fails reads.
	readErr error
	// during runs inside each write, while it is in flight.
	during func()
}

var errTimeout = &order.Error{Code: codes.UpstreamUnavailable, Message: "upstream timed out", Cause: order.ErrMayHaveApplied}

func newShop() *shop {
	notes := ""
	return &shop{
		orders: map[uint64]*order.Order{1: {
			ID: 1, Status: order.StatusToBeShipped, ExtInfo: &order.ExtInfo{MerchantNotes: &notes},
			OrderDetail: &order.OrderDetail{
				ProductInfos: []order.ProductInfo{{ProductID: 10, SkuID: 11, SkuCnt: 2, SalePrice: 500}},
				PriceInfo:    &order.PriceInfo{OrderPrice: 1000, Freight: 100},
				DeliveryInfo: &order.DeliveryInfo{},
			},
		}},
		afterSales: map[uint64]*order.AfterSaleOrder{7: {ID: 7, OrderID: 1, Status: "USER_APPLIED"}},
	}
}

func clone[T any](v *T) *T {
	b, _ := json.Marshal(v)
	var out T
	_ = json.Unmarshal(b, &out)
	return &out
}

func (s *shop) Order(_ context.Context, id uint64) (*order.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readErr != nil {
		return nil, s.readErr
	}
	o, ok := s.orders[id]
	if !ok {
		return nil, order.Errorf(codes.OrderNotFound, "order not found", nil)
	}
	return clone(o), nil
}

func (s *shop) MaxBatch() int { return 50 }

func (s *shop) AfterSaleOrders(_ context.Context, ids []uint64) (map[uint64]*order.AfterSaleOrder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readErr != nil {
		return nil, s.readErr
	}
	out := map[uint64]*order.AfterSaleOrder{}
	for _, id := range ids {
		if a, ok := s.afterSales[id]; ok {
			out[id] = clone(a)
		}
	}
	return out, nil
}

// write runs apply as one write.
func (s *shop) write(apply func()) error {
	s.mu.Lock()
	s.writes++
	n := s.writes
	s.inFlight++
	s.peak = max(s.peak, s.inFlight)
	during := s.during
	s.mu.Unlock()
	if during != nil {
		during()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	doApply, err := true, error(nil)
	if s.fault != nil {
		doApply, err = s.fault(n)
	}
	if doApply {
		apply()
	}
	return err
}

func (s *shop) count() (writes, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes, s.peak
}

func (s *shop) Ship(_ context.Context, sh order.Shipment) error {
	s.mu.Lock()
	shipped := s.orders[sh.OrderID].Status != order.StatusToBeShipped
	s.mu.Unlock()
	if shipped {
		code := int64(101100)
		return &order.Refusal{Code: codes.OrderState, Message: "state", Errcode: &code}
	}
	return s.write(func() {
		o := s.orders[sh.OrderID]
		for _, p := range sh.Parcels {
			w, d := p.WaybillID, p.DeliveryID
			o.OrderDetail.DeliveryInfo.DeliveryProductInfo = append(o.OrderDetail.DeliveryInfo.DeliveryProductInfo, order.DeliveryProductInfo{WaybillID: &w, DeliveryID: &d})
		}
		o.Status = order.StatusToBeReceived
	})
}

func (s *shop) UpdateShipment(context.Context, order.Shipment) error {
	return order.Refuse(codes.NotSupported, "no")
}

func (s *shop) SetMerchantNotes(_ context.Context, id uint64, notes string) error {
	return s.write(func() { s.orders[id].ExtInfo.MerchantNotes = &notes })
}

func (s *shop) ChangePrice(_ context.Context, c order.PriceChange) error {
	return s.write(func() {
		p := s.orders[c.OrderID].OrderDetail.PriceInfo
		p.OrderPrice = 0
		for _, l := range c.Lines {
			p.OrderPrice += l.NewLineTotal
		}
	})
}

func (s *shop) ChangeAddress(context.Context, uint64, order.Address) error {
	return s.write(func() {})
}

func (s *shop) AcceptAfterSale(_ context.Context, a order.AfterSaleAccept) error {
	return s.write(func() { s.afterSales[a.AfterSaleID].Status = "MERCHANT_REFUND_SUCCESS" })
}

func (s *shop) RejectAfterSale(_ context.Context, r order.AfterSaleReject) error {
	return s.write(func() { s.afterSales[r.AfterSaleID].Status = "MERCHANT_REJECT_REFUND" })
}

func (s *shop) Precheck(order.Action) *order.Refusal { return nil }

func (s *shop) DeliveryCompanies(context.Context) ([]order.DeliveryCompany, error) { return nil, nil }
func (s *shop) AftersaleRejectReasons(context.Context) ([]order.AftersaleRejectReason, error) {
	return nil, nil
}
func (s *shop) ReturnAddresses(context.Context) ([]order.ReturnAddress, error) { return nil, nil }

type forgets struct {
	mu  sync.Mutex
	ids []uint64
}

func (f *forgets) Forget(_ context.Context, id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, id)
}

func service(s *shop, f *forgets, records Records) *Service {
	if records == nil {
		records = NewLocalRecords()
	}
	return New(DefaultConfig(), Deps{Writer: s, Orders: s, AfterSales: s, Forget: f, Records: records, Locks: NewLocalLocks(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func merchant() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant, Subject: "jwt:ops", CanWrite: true})
}

func ship(key, waybill string) ShipOrderInput {
	return ShipOrderInput{IdempotencyKey: key, OrderID: "1", Parcels: []ParcelInput{{DeliveryID: "SF", WaybillID: waybill}}}
}

// mustOK returns a check that an action succeeded without user errors.
func mustOK(t *testing.T) func(*OrderActionPayload, error) *OrderActionPayload {
	return func(p *OrderActionPayload, err error) *OrderActionPayload {
		t.Helper()
		if err != nil {
			t.Fatalf("error: %v", err)
		}
		if len(p.UserErrors) > 0 {
			t.Fatalf("user errors: %+v", p.UserErrors)
		}
		return p
	}
}

func TestReplaySameKeySameInput(t *testing.T) {
	s, f := newShop(), &forgets{}
	svc := service(s, f, nil)
	first := mustOK(t)(svc.ShipOrder(merchant(), ship("k1", "SF1")))
	if first.Replayed || first.Order == nil || first.Order.Status != order.StatusToBeReceived {
		t.Fatalf("first: %+v", first)
	}
	again := mustOK(t)(svc.ShipOrder(merchant(), ship("k1", "SF1")))
	if !again.Replayed || again.Order.Status != order.StatusToBeReceived {
		t.Fatalf("replay: %+v", again)
	}
	if w, _ := s.count(); w != 1 {
		t.Fatalf("writes = %d, want 1", w)
	}
	// Forgotten after the write, and again after its read-back.
	if len(f.ids) != 2 || f.ids[0] != 1 || f.ids[1] != 1 {
		t.Fatalf("forgotten %v, want [1 1]", f.ids)
	}
	// Another caller's key of the same text is another key: its action
	// runs (and WeChat refuses to ship again), it is not replayed.
	other := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant, Subject: "jwt:other", CanWrite: true})
	p, err := svc.ShipOrder(other, ship("k1", "SF1"))
	if err != nil || p.Replayed || len(p.UserErrors) != 1 || p.UserErrors[0].Code != codes.OrderState {
		t.Fatalf("other caller: %+v %v", p, err)
	}
}

func TestKeyReusedWithOtherInput(t *testing.T) {
	s := newShop()
	svc := service(s, &forgets{}, nil)
	mustOK(t)(svc.SetMerchantNotes(merchant(), SetMerchantNotesInput{IdempotencyKey: "n", OrderID: "1", Notes: "first"}))
	p, err := svc.SetMerchantNotes(merchant(), SetMerchantNotesInput{IdempotencyKey: "n", OrderID: "1", Notes: "second"})
	if err != nil || len(p.UserErrors) != 1 || p.UserErrors[0].Code != codes.IdempotencyKeyReused {
		t.Fatalf("got %+v %v", p, err)
	}
	if w, _ := s.count(); w != 1 {
		t.Fatalf("writes = %d, want 1", w)
	}
}

func TestSameKeyRacedWritesOnce(t *testing.T) {
	s := newShop()
	svc := service(s, &forgets{}, nil)
	var wg sync.WaitGroup
	results := make([]*OrderActionPayload, 20)
	for i := range results {
		wg.Go(func() {
			p, err := svc.SetMerchantNotes(merchant(), SetMerchantNotesInput{IdempotencyKey: "race", OrderID: "1", Notes: "packed"})
			if err != nil {
				t.Error(err)
			}
			results[i] = p
		})
	}
	wg.Wait()
	replayed := 0
	for _, p := range results {
		if p == nil || len(p.UserErrors) > 0 || p.Order == nil || merchantNotes(p.Order) != "packed" {
			t.Fatalf("result %+v", p)
		}
		if p.Replayed {
			replayed++
		}
	}
	if w, _ := s.count(); w != 1 || replayed != 19 {
		t.Fatalf("writes = %d, replayed = %d; want 1 and 19", w, replayed)
	}
}

func TestOneWritePerOrderAtATime(t *testing.T) {
	s := newShop()
	// Each write yields while in flight, so that writes that could overlap do.
	s.during = func() {
		for range 100 {
			runtime.Gosched()
		}
	}
	svc := service(s, &forgets{}, nil)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			mustOK(t)(svc.SetMerchantNotes(merchant(), SetMerchantNotesInput{IdempotencyKey: "k" + strconv.Itoa(i), OrderID: "1", Notes: "n" + strconv.Itoa(i)}))
		})
	}
	wg.Go(func() {
		p, err := svc.AcceptAftersale(merchant(), AcceptAftersaleInput{IdempotencyKey: "as", AftersaleOrderID: "7"})
		if err != nil || len(p.UserErrors) > 0 || p.AftersaleOrder.Status != "MERCHANT_REFUND_SUCCESS" {
			t.Errorf("accept: %+v %v", p, err)
		}
	})
	wg.Wait()
	if w, peak := s.count(); w != 11 || peak != 1 {
		t.Fatalf("writes = %d, peak in flight = %d; want 11 and 1", w, peak)
	}
}

func TestWriteThatLandedIsNotSentAgain(t *testing.T) {
	s := newShop()
	s.fault = func(n int) (bool, error) { return true, errTimeout }
	svc := service(s, &forgets{}, nil)
	p := mustOK(t)(svc.ShipOrder(merchant(), ship("k", "SF9")))
	if w, _ := s.count(); w != 1 || p.Order.Status != order.StatusToBeReceived {
		t.Fatalf("writes = %d, order %+v", w, p.Order)
	}
}

func TestWriteThatDidNotLandIsSentOnceMore(t *testing.T) {
	s := newShop()
	s.fault = func(n int) (bool, error) {
		if n == 1 {
			return false, errTimeout
		}
		return true, nil
	}
	svc := service(s, &forgets{}, nil)
	mustOK(t)(svc.ShipOrder(merchant(), ship("k", "SF9")))
	if w, _ := s.count(); w != 2 {
		t.Fatalf("writes = %d, want 2", w)
	}
	// Missing twice: the error, and never a third write.
	s2 := newShop()
	s2.fault = func(int) (bool, error) { return false, errTimeout }
	_, err := service(s2, &forgets{}, nil).ShipOrder(merchant(), ship("k", "SF9"))
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Outcome != "" {
		t.Fatalf("err = %v", err)
	}
	if w, _ := s2.count(); w != 2 {
		t.Fatalf("writes = %d, want 2", w)
	}
}

func TestUnknownOutcomeReadsBackBeforeWriting(t *testing.T) {
	s := newShop()
	landed := true
	s.fault = func(n int) (bool, error) {
		if n == 1 {
			s.readErr = errTimeout // the read-back fails too
			return landed, errTimeout
		}
		return true, nil
	}
	svc := service(s, &forgets{}, nil)
	_, err := svc.ShipOrder(merchant(), ship("k", "SF9"))
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Outcome != "UNKNOWN" || oe.Code != codes.UpstreamUnavailable {
		t.Fatalf("err = %#v", err)
	}
	s.mu.Lock()
	s.readErr = nil
	s.mu.Unlock()
	p := mustOK(t)(svc.ShipOrder(merchant(), ship("k", "SF9")))
	if w, _ := s.count(); w != 1 || !p.Replayed || p.Order.Status != order.StatusToBeReceived {
		t.Fatalf("writes = %d, payload %+v", w, p)
	}
	// Settled now: a third call replays without reading.
	s.mu.Lock()
	s.readErr = errTimeout
	s.mu.Unlock()
	if p := mustOK(t)(svc.ShipOrder(merchant(), ship("k", "SF9"))); !p.Replayed {
		t.Fatalf("third: %+v", p)
	}
}

func TestUnknownOutcomeThatDidNotLandIsWrittenOnRetry(t *testing.T) {
	s := newShop()
	s.fault = func(n int) (bool, error) {
		if n == 1 {
			s.readErr = errTimeout
			return false, errTimeout
		}
		return true, nil
	}
	svc := service(s, &forgets{}, nil)
	if _, err := svc.AcceptAftersale(merchant(), AcceptAftersaleInput{IdempotencyKey: "a", AftersaleOrderID: "7"}); err == nil {
		t.Fatal("want the unknown outcome")
	}
	s.mu.Lock()
	s.readErr = nil
	s.mu.Unlock()
	p, err := svc.AcceptAftersale(merchant(), AcceptAftersaleInput{IdempotencyKey: "a", AftersaleOrderID: "7"})
	if err != nil || len(p.UserErrors) > 0 || p.Replayed || p.AftersaleOrder.Status != "MERCHANT_REFUND_SUCCESS" {
		t.Fatalf("retry: %+v %v", p, err)
	}
	if w, _ := s.count(); w != 2 {
		t.Fatalf("writes = %d, want 2", w)
	}
}

func TestInfrastructureFailureFreesTheKey(t *testing.T) {
	s := newShop()
	quota := int64(45009)
	s.fault = func(n int) (bool, error) {
		if n == 1 {
			return false, &order.Error{Code: codes.UpstreamRateLimited, Message: "quota", Errcode: &quota}
		}
		return true, nil
	}
	svc := service(s, &forgets{}, nil)
	if _, err := svc.ShipOrder(merchant(), ship("k", "SF1")); !order.IsCode(err, codes.UpstreamRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if p := mustOK(t)(svc.ShipOrder(merchant(), ship("k", "SF1"))); p.Replayed {
		t.Fatal("the retry must write")
	}
	if w, _ := s.count(); w != 2 {
		t.Fatalf("writes = %d, want 2", w)
	}
}

func TestRefusalIsStoredAndReplayed(t *testing.T) {
	s := newShop()
	code := int64(101100)
	s.fault = func(int) (bool, error) {
		return false, &order.Refusal{Code: codes.OrderState, Message: "state", Errcode: &code}
	}
	svc := service(s, &forgets{}, nil)
	for i, replayed := range []bool{false, true} {
		p, err := svc.ShipOrder(merchant(), ship("k", "SF1"))
		if err != nil || len(p.UserErrors) != 1 || p.UserErrors[0].Code != codes.OrderState || *p.UserErrors[0].UpstreamErrcode != 101100 || p.Replayed != replayed || p.Order == nil {
			t.Fatalf("call %d: %+v %v", i, p, err)
		}
	}
	if w, _ := s.count(); w != 1 {
		t.Fatalf("writes = %d, want 1", w)
	}
}

func TestChecksBeforeAnyCall(t *testing.T) {
	tooLong := ""
	for range 101 {
		tooLong += "界"
	}
	virtual := true
	cases := []struct {
		name  string
		run   func(*Service) (*OrderActionPayload, error)
		code  codes.UserCode
		field string
	}{
		{"empty key", func(s *Service) (*OrderActionPayload, error) { return s.ShipOrder(merchant(), ship("", "SF1")) }, codes.InvalidInput, "input.idempotencyKey"},
		{"key over 100 characters", func(s *Service) (*OrderActionPayload, error) { return s.ShipOrder(merchant(), ship(tooLong, "SF1")) }, codes.InvalidInput, "input.idempotencyKey"},
		{"virtual and parcels", func(s *Service) (*OrderActionPayload, error) {
			in := ship("k", "SF1")
			in.Virtual = &virtual
			return s.ShipOrder(merchant(), in)
		}, codes.InvalidInput, "input.parcels"},
		{"no parcel", func(s *Service) (*OrderActionPayload, error) {
			return s.ShipOrder(merchant(), ShipOrderInput{IdempotencyKey: "k", OrderID: "1"})
		}, codes.InvalidInput, "input.parcels"},
		{"empty waybill", func(s *Service) (*OrderActionPayload, error) { return s.ShipOrder(merchant(), ship("k", " ")) }, codes.InvalidInput, "input.parcels.0.waybillId"},
		{"parcel without items beside others", func(s *Service) (*OrderActionPayload, error) {
			in := ship("k", "SF1")
			in.Parcels = append(in.Parcels, ParcelInput{DeliveryID: "SF", WaybillID: "SF2", Items: []ParcelItemInput{{ProductID: "10", SkuID: "11", Count: 1}}})
			return s.ShipOrder(merchant(), in)
		}, codes.InvalidInput, "input.parcels.0.items"},
		{"item the order does not have", func(s *Service) (*OrderActionPayload, error) {
			in := ship("k", "SF1")
			in.Parcels[0].Items = []ParcelItemInput{{ProductID: "10", SkuID: "99", Count: 1}}
			return s.ShipOrder(merchant(), in)
		}, codes.InvalidInput, "input.parcels.0.items.0"},
		{"more than the order has", func(s *Service) (*OrderActionPayload, error) {
			in := ship("k", "SF1")
			in.Parcels[0].Items = []ParcelItemInput{{ProductID: "10", SkuID: "11", Count: 2}}
			in.Parcels = append(in.Parcels, ParcelInput{DeliveryID: "SF", WaybillID: "SF2", Items: []ParcelItemInput{{ProductID: "10", SkuID: "11", Count: 1}}})
			return s.ShipOrder(merchant(), in)
		}, codes.InvalidInput, "input.parcels.1.items.0.count"},
		{"bad order id", func(s *Service) (*OrderActionPayload, error) {
			return s.SetMerchantNotes(merchant(), SetMerchantNotesInput{IdempotencyKey: "k", OrderID: "-1"})
		}, codes.InvalidInput, "input.orderId"},
		{"price not lower", func(s *Service) (*OrderActionPayload, error) {
			return s.ChangeOrderPrice(merchant(), ChangeOrderPriceInput{IdempotencyKey: "k", OrderID: "1", Lines: []PriceLineInput{{ProductID: "10", SkuID: "11", NewLineTotal: 1000}}})
		}, codes.PriceNotLower, "input.lines.0.newLineTotal"},
		{"price line of another order", func(s *Service) (*OrderActionPayload, error) {
			return s.ChangeOrderPrice(merchant(), ChangeOrderPriceInput{IdempotencyKey: "k", OrderID: "1", Lines: []PriceLineInput{{ProductID: "12", SkuID: "11", NewLineTotal: 10}}})
		}, codes.InvalidInput, "input.lines.0"},
		{"negative price", func(s *Service) (*OrderActionPayload, error) {
			return s.ChangeOrderPrice(merchant(), ChangeOrderPriceInput{IdempotencyKey: "k", OrderID: "1", Lines: []PriceLineInput{{ProductID: "10", SkuID: "11", NewLineTotal: -1}}})
		}, codes.InvalidInput, "input.lines.0.newLineTotal"},
		{"freight not lower", func(s *Service) (*OrderActionPayload, error) {
			f := 100
			return s.ChangeOrderPrice(merchant(), ChangeOrderPriceInput{IdempotencyKey: "k", OrderID: "1", Freight: &f})
		}, codes.PriceNotLower, "input.freight"},
		{"empty address line", func(s *Service) (*OrderActionPayload, error) {
			return s.ChangeOrderAddress(merchant(), ChangeOrderAddressInput{IdempotencyKey: "k", OrderID: "1", Address: AddressInput{UserName: "x", TelNumber: "1", ProvinceName: "p", CityName: "c", CountyName: "c"}})
		}, codes.InvalidInput, "input.address.detailInfo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newShop()
			p, err := c.run(service(s, &forgets{}, nil))
			if err != nil || len(p.UserErrors) == 0 {
				t.Fatalf("got %+v %v", p, err)
			}
			u := p.UserErrors[0]
			if u.Code != c.code || joined(u.Field) != c.field {
				t.Fatalf("got %s at %s; want %s at %s", u.Code, joined(u.Field), c.code, c.field)
			}
			if w, _ := s.count(); w != 0 {
				t.Fatalf("writes = %d, want 0", w)
			}
		})
	}
}

func joined(f []string) string {
	out := ""
	for i, s := range f {
		if i > 0 {
			out += "."
		}
		out += s
	}
	return out
}

// flaky fails the first n Settles of outcomes (not of a baseline), as a
// Redis that is briefly away would.
type flaky struct {
	Records
	mu sync.Mutex
	n  int
}

func (f *flaky) Settle(ctx context.Context, key, owner string, r Record, keep time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.State != Pending && f.n > 0 {
		f.n--
		return errors.New("redis away")
	}
	return f.Records.Settle(ctx, key, owner, r, keep)
}

// A write whose outcome could not be recorded keeps its key: the claim
// lapses, and the retry reads back instead of writing again.
func TestUnrecordedOutcomeIsReadBackNotRewritten(t *testing.T) {
	s := newShop()
	clock := time.Now()
	var mu sync.Mutex
	svc := service(s, &forgets{}, &flaky{Records: NewLocalRecords(), n: 1})
	svc.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	in := SetMerchantNotesInput{IdempotencyKey: "k", OrderID: "1", Notes: "packed"}
	mustOK(t)(svc.SetMerchantNotes(merchant(), in))
	// A retry at once waits for the claim; once it lapses, it reads back.
	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	p := mustOK(t)(svc.SetMerchantNotes(merchant(), in))
	if w, _ := s.count(); w != 1 || !p.Replayed || merchantNotes(p.Order) != "packed" {
		t.Fatalf("writes = %d, payload %+v", w, p)
	}
}

// A claim whose holder died before it wrote has no baseline: the request
// that takes it over writes, once.
func TestClaimOfADeadHolderThatNeverWrote(t *testing.T) {
	s := newShop()
	records := NewLocalRecords()
	now := time.Now()
	key := recordKey("", "jwt:ops", "acceptAftersale", "k")
	in := AcceptAftersaleInput{IdempotencyKey: "k", AftersaleOrderID: "7"}
	accept, _ := in.check()
	if _, ok, _ := records.Claim(context.Background(), key, fingerprint("acceptAftersale", accept), "dead", now.Add(-time.Second), now.Add(-time.Minute), time.Hour); !ok {
		t.Fatal("no claim")
	}
	p, err := service(s, &forgets{}, records).AcceptAftersale(merchant(), in)
	if err != nil || len(p.UserErrors) > 0 || p.Replayed || p.AftersaleOrder.Status != "MERCHANT_REFUND_SUCCESS" {
		t.Fatalf("%+v %v", p, err)
	}
	if w, _ := s.count(); w != 1 {
		t.Fatalf("writes = %d, want 1", w)
	}
}

// A second attempt refused for the order's state, after a first whose
// read-back showed it missing, reads back once more: the first applied.
func TestStateRefusalOfTheSecondAttemptIsReadBack(t *testing.T) {
	s := newShop()
	code := int64(10021041)
	s.fault = func(n int) (bool, error) {
		if n == 1 {
			return false, errTimeout
		}
		// The first write lands late; WeChat refuses the second for the state.
		s.afterSales[7].Status = "MERCHANT_REFUND_SUCCESS"
		return false, &order.Refusal{Code: codes.AfterSaleState, Message: "state", Errcode: &code}
	}
	p, err := service(s, &forgets{}, nil).AcceptAftersale(merchant(), AcceptAftersaleInput{IdempotencyKey: "k", AftersaleOrderID: "7"})
	if err != nil || len(p.UserErrors) > 0 || p.AftersaleOrder.Status != "MERCHANT_REFUND_SUCCESS" {
		t.Fatalf("%+v %v", p, err)
	}
}

// A refusal of the second attempt, after a first whose read-back showed it
// missing, cannot tell: the first may still be under way at WeChat (which
// is why it answers 100003). The outcome stays unknown, and the retry,
// once the first has landed, reads it back instead of writing a third time.
func TestRefusalOfTheSecondAttemptLeavesTheOutcomeUnknown(t *testing.T) {
	s := newShop()
	code := int64(100003)
	var late func()
	s.fault = func(n int) (bool, error) {
		switch n {
		case 1: // slow: WeChat applies it after the server gave up
			late = func() { s.orders[1].ExtInfo.MerchantNotes = ptr("packed") }
			return false, errTimeout
		case 2:
			return false, &order.Refusal{Code: codes.ConcurrentUpdate, Message: "busy", Errcode: &code}
		}
		return true, nil
	}
	svc := service(s, &forgets{}, nil)
	in := SetMerchantNotesInput{IdempotencyKey: "k", OrderID: "1", Notes: "packed"}
	_, err := svc.SetMerchantNotes(merchant(), in)
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Outcome != "UNKNOWN" {
		t.Fatalf("err = %v", err)
	}
	s.mu.Lock()
	late()
	s.mu.Unlock()
	p := mustOK(t)(svc.SetMerchantNotes(merchant(), in))
	if w, _ := s.count(); w != 2 || !p.Replayed || merchantNotes(p.Order) != "packed" {
		t.Fatalf("writes = %d, payload %+v", w, p)
	}
}

func ptr[T any](v T) *T { return &v }

// A refusal is the action's outcome: the same key and input answer it
// again, without a call, whatever it says (the contract's rule).
func TestRefusalsAreReplayed(t *testing.T) {
	s := newShop()
	code := int64(100003)
	s.fault = func(int) (bool, error) {
		return false, &order.Refusal{Code: codes.ConcurrentUpdate, Message: "busy", Errcode: &code}
	}
	svc := service(s, &forgets{}, nil)
	in := SetMerchantNotesInput{IdempotencyKey: "k", OrderID: "1", Notes: "n"}
	for i, replayed := range []bool{false, true} {
		p, err := svc.SetMerchantNotes(merchant(), in)
		if err != nil || len(p.UserErrors) != 1 || p.UserErrors[0].Code != codes.ConcurrentUpdate || p.Replayed != replayed {
			t.Fatalf("call %d: %+v %v", i+1, p, err)
		}
	}
	if w, _ := s.count(); w != 1 {
		t.Fatalf("writes = %d, want 1", w)
	}
}
