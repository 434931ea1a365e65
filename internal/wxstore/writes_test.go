package wxstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

// storeCall is one call the fake Store received, other than for a token.
type storeCall struct {
	Path, Body, Token string
}

// fakeStore answers stable_token with a new token each time, and every
// other call with what answer says for it, n being how many calls to its
// path came before; it records the calls.
type fakeStore struct {
	mu     sync.Mutex
	calls  []storeCall
	tokens atomic.Int64
}

func (f *fakeStore) Calls() []storeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

const (
	testAppID  = "wxstoretestapp01"
	testSecret = "store-test-secret"
)

// newFakeStore returns the Store's writes on a client with the production
// token manager, the transport's retries on (so that a write making one
// attempt shows it does not use them), and the given per-call timeout.
func newFakeStore(t *testing.T, timeout time.Duration, answer func(r *http.Request, n int) string) (*Writes, *fakeStore) {
	t.Helper()
	f := &fakeStore{}
	issue := func(bool) (string, int64, int64) { return fmt.Sprintf("tok-%d", f.tokens.Add(1)), 7200, 0 }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/stable_token", sandbox.StableToken(testAppID, testSecret, issue))
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := 0
		for _, c := range f.calls {
			if c.Path == r.URL.Path {
				n++
			}
		}
		f.calls = append(f.calls, storeCall{Path: r.URL.Path, Body: string(body), Token: r.URL.Query().Get("access_token")})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer(r, n))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	transport := wechat.NewTransport(wechat.TransportConfig{BaseURL: srv.URL, Timeout: timeout, Retries: 2, RetryBudget: 1})
	tokens := token.NewManager(func(ctx context.Context, force bool) (string, time.Duration, error) {
		return transport.StableToken(ctx, testAppID, testSecret, force)
	}, token.Config{})
	return NewWrites(wechat.NewClient(transport, tokens)), f
}

// answering answers every call with body.
func answering(body string) func(*http.Request, int) string {
	return func(*http.Request, int) string { return body }
}

func errcodeAnswer(errcode int64) string {
	return fmt.Sprintf(`{"errcode":%d,"errmsg":"refused"}`, errcode)
}

const okAnswer = `{"errcode":0,"errmsg":"ok"}`

// sameJSON reports whether two JSON texts hold the same value, types
// included: "1" is not 1, and a member left out is not a member sent empty.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("sent %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// Each write sends the body its Store call wants, to its path, once.
func TestWriteBodies(t *testing.T) {
	for _, c := range []struct {
		name, path, body string
		do               func(*Writes) error
	}{
		{
			"ship parcels", "/channels/ec/order/delivery/send",
			`{"order_id":"3705115058471208928","delivery_list":[
				{"delivery_id":"YTO","waybill_id":"YT1234567890","deliver_type":1,"product_infos":[
					{"product_id":"10000029995861","sku_id":"1751981603","product_cnt":1},
					{"product_id":"10000029995862","sku_id":"1751981604","product_cnt":2}]},
				{"delivery_id":"SF","waybill_id":"SF1","deliver_type":1,"product_infos":[
					{"product_id":"10000029995863","sku_id":"18446744073709551615","product_cnt":3}]}]}`,
			func(w *Writes) error {
				return w.Ship(context.Background(), order.Shipment{OrderID: 3705115058471208928, Parcels: []order.Parcel{
					{DeliveryID: "YTO", WaybillID: "YT1234567890", Items: []order.ParcelItem{{ProductID: 10000029995861, SkuID: 1751981603, Count: 1}, {ProductID: 10000029995862, SkuID: 1751981604, Count: 2}}},
					{DeliveryID: "SF", WaybillID: "SF1", Items: []order.ParcelItem{{ProductID: 10000029995863, SkuID: 18446744073709551615, Count: 3}}},
				}})
			},
		},
		{
			// The caller fills in the order's lines; a parcel left without
			// any still sends the list, empty.
			"ship a parcel without items", "/channels/ec/order/delivery/send",
			`{"order_id":"7","delivery_list":[{"delivery_id":"ZTO","waybill_id":"Z9","deliver_type":1,"product_infos":[]}]}`,
			func(w *Writes) error {
				return w.Ship(context.Background(), order.Shipment{OrderID: 7, Parcels: []order.Parcel{{DeliveryID: "ZTO", WaybillID: "Z9"}}})
			},
		},
		{
			"ship virtual goods", "/channels/ec/order/delivery/send",
			`{"order_id":"7","delivery_list":[{"delivery_id":"","waybill_id":"","deliver_type":3}]}`,
			func(w *Writes) error { return w.Ship(context.Background(), order.Shipment{OrderID: 7, Virtual: true}) },
		},
		{
			"ship virtual goods with what is left", "/channels/ec/order/delivery/send",
			`{"order_id":"7","delivery_list":[{"delivery_id":"","waybill_id":"","deliver_type":3,"product_infos":[{"product_id":"5","sku_id":"6","product_cnt":2}]}]}`,
			func(w *Writes) error {
				return w.Ship(context.Background(), order.Shipment{OrderID: 7, Virtual: true, Parcels: []order.Parcel{{Whole: true, Items: []order.ParcelItem{{ProductID: 5, SkuID: 6, Count: 2}}}}})
			},
		},
		{
			"update shipment", "/channels/ec/order/deliveryinfo/update",
			`{"order_id":"8","delivery_list":[{"delivery_id":"JD","waybill_id":"JD1","deliver_type":1,"product_infos":[{"product_id":"5","sku_id":"6","product_cnt":4}]}]}`,
			func(w *Writes) error {
				return w.UpdateShipment(context.Background(), order.Shipment{OrderID: 8, Parcels: []order.Parcel{{DeliveryID: "JD", WaybillID: "JD1", Items: []order.ParcelItem{{ProductID: 5, SkuID: 6, Count: 4}}}}})
			},
		},
		{
			"merchant notes", "/channels/ec/order/merchantnotes/update",
			`{"order_id":"9","merchant_notes":"ring the bell"}`,
			func(w *Writes) error { return w.SetMerchantNotes(context.Background(), 9, "ring the bell") },
		},
		{
			"price, lines and freight", "/channels/ec/order/price/update",
			`{"order_id":"10","change_express":true,"express_fee":0,"change_order_infos":[{"product_id":"1","sku_id":"2","change_price":900}]}`,
			func(w *Writes) error {
				return w.ChangePrice(context.Background(), order.PriceChange{OrderID: 10, Lines: []order.PriceLine{{ProductID: 1, SkuID: 2, NewLineTotal: 900}}, Freight: ptr[int64](0)})
			},
		},
		{
			"price, lines only", "/channels/ec/order/price/update",
			`{"order_id":"10","change_express":false,"express_fee":0,"change_order_infos":[{"product_id":"1","sku_id":"2","change_price":900},{"product_id":"3","sku_id":"4","change_price":1}]}`,
			func(w *Writes) error {
				return w.ChangePrice(context.Background(), order.PriceChange{OrderID: 10, Lines: []order.PriceLine{{ProductID: 1, SkuID: 2, NewLineTotal: 900}, {ProductID: 3, SkuID: 4, NewLineTotal: 1}}})
			},
		},
		{
			"price, freight only", "/channels/ec/order/price/update",
			`{"order_id":"10","change_express":true,"express_fee":500}`,
			func(w *Writes) error {
				return w.ChangePrice(context.Background(), order.PriceChange{OrderID: 10, Freight: ptr[int64](500)})
			},
		},
		{
			"address, all fields", "/channels/ec/order/address/update",
			`{"order_id":"11","user_address":{"user_name":"Li","postal_code":"200000","province_name":"上海市","city_name":"上海市","county_name":"浦东新区","detail_info":"1 Road","tel_number":"13800000000","house_number":"2-301"}}`,
			func(w *Writes) error {
				return w.ChangeAddress(context.Background(), 11, order.Address{UserName: "Li", TelNumber: "13800000000", ProvinceName: "上海市", CityName: "上海市", CountyName: "浦东新区", DetailInfo: "1 Road", PostalCode: ptr("200000"), HouseNumber: ptr("2-301")})
			},
		},
		{
			"address, optional fields left out", "/channels/ec/order/address/update",
			`{"order_id":"11","user_address":{"user_name":"Li","province_name":"上海市","city_name":"上海市","county_name":"浦东新区","detail_info":"1 Road","tel_number":"13800000000"}}`,
			func(w *Writes) error {
				return w.ChangeAddress(context.Background(), 11, order.Address{UserName: "Li", TelNumber: "13800000000", ProvinceName: "上海市", CityName: "上海市", CountyName: "浦东新区", DetailInfo: "1 Road"})
			},
		},
		{
			"accept with a return address", "/channels/ec/aftersale/acceptapply",
			`{"after_sale_order_id":"4000000000000000001","address_id":"77"}`,
			func(w *Writes) error {
				return w.AcceptAfterSale(context.Background(), order.AfterSaleAccept{AfterSaleID: 4000000000000000001, ReturnAddressID: ptr("77")})
			},
		},
		{
			"accept", "/channels/ec/aftersale/acceptapply",
			`{"after_sale_order_id":"12"}`,
			func(w *Writes) error {
				return w.AcceptAfterSale(context.Background(), order.AfterSaleAccept{AfterSaleID: 12})
			},
		},
		{
			"reject with a reason", "/channels/ec/aftersale/rejectapply",
			`{"after_sale_order_id":"13","reject_reason_type":2,"reject_reason":"goods were used"}`,
			func(w *Writes) error {
				return w.RejectAfterSale(context.Background(), order.AfterSaleReject{AfterSaleID: 13, ReasonType: ptr[int64](2), Reason: ptr("goods were used")})
			},
		},
		{
			"reject", "/channels/ec/aftersale/rejectapply",
			`{"after_sale_order_id":"13","reject_reason_type":2}`,
			func(w *Writes) error {
				return w.RejectAfterSale(context.Background(), order.AfterSaleReject{AfterSaleID: 13, ReasonType: ptr[int64](2)})
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, f := newFakeStore(t, 5*time.Second, answering(okAnswer))
			if err := c.do(w); err != nil {
				t.Fatal(err)
			}
			calls := f.Calls()
			if len(calls) != 1 || calls[0].Path != c.path || !sameJSON(t, calls[0].Body, c.body) {
				t.Fatalf("sent %+v\nwant one call to %s with %s", calls, c.path, c.body)
			}
		})
	}
}

// The Store requires a reason type: a rejection without one is refused
// here, without a call.
func TestRejectNeedsAReasonType(t *testing.T) {
	w, f := newFakeStore(t, 5*time.Second, answering(okAnswer))
	err := w.RejectAfterSale(context.Background(), order.AfterSaleReject{AfterSaleID: 13, Reason: ptr("no")})
	var r *order.Refusal
	if !errors.As(err, &r) || r.Code != codes.InvalidInput || !slices.Equal(r.Field, []string{"input", "reasonType"}) || r.Errcode != nil {
		t.Fatalf("got %v", err)
	}
	if n := len(f.Calls()) + int(f.tokens.Load()); n != 0 {
		t.Fatalf("made %d calls", n)
	}
}

// eachWrite is one call of each write, for the refusal tables.
var eachWrite = map[string]func(*Writes) error{
	"ship": func(w *Writes) error {
		return w.Ship(context.Background(), order.Shipment{OrderID: 1, Parcels: []order.Parcel{{DeliveryID: "YTO", WaybillID: "Y1", Items: []order.ParcelItem{{ProductID: 1, SkuID: 2, Count: 1}}}}})
	},
	"updateShipment": func(w *Writes) error {
		return w.UpdateShipment(context.Background(), order.Shipment{OrderID: 1, Parcels: []order.Parcel{{DeliveryID: "YTO", WaybillID: "Y1", Items: []order.ParcelItem{{ProductID: 1, SkuID: 2, Count: 1}}}}})
	},
	"notes": func(w *Writes) error { return w.SetMerchantNotes(context.Background(), 1, "n") },
	"price": func(w *Writes) error {
		return w.ChangePrice(context.Background(), order.PriceChange{OrderID: 1, Lines: []order.PriceLine{{ProductID: 1, SkuID: 2, NewLineTotal: 1}}})
	},
	"address": func(w *Writes) error {
		return w.ChangeAddress(context.Background(), 1, order.Address{UserName: "a", TelNumber: "1", ProvinceName: "p", CityName: "c", CountyName: "c", DetailInfo: "d"})
	},
	"accept": func(w *Writes) error {
		return w.AcceptAfterSale(context.Background(), order.AfterSaleAccept{AfterSaleID: 1})
	},
	"reject": func(w *Writes) error {
		return w.RejectAfterSale(context.Background(), order.AfterSaleReject{AfterSaleID: 1, ReasonType: ptr[int64](1)})
	},
}

// Each errcode a write's table lists is the refusal it names, with the
// errcode; an errcode it does not list is REJECTED.
func TestWriteRefusals(t *testing.T) {
	orderRows := map[int64]codes.UserCode{
		101100: codes.OrderState, 100002: codes.UserOrderNotFound, 100003: codes.ConcurrentUpdate,
		40097: codes.InvalidInput, 47001: codes.InvalidInput,
		// The after-sale codes are not an order write's.
		10021059: codes.Rejected, 9999999: codes.Rejected,
	}
	deliveryRows := merged(orderRows, map[int64]codes.UserCode{
		606034: codes.ProviderLocked, 606041: codes.LimitReached,
		606040: codes.InvalidInput, 606042: codes.InvalidInput, 606004: codes.InvalidInput, 606005: codes.InvalidInput,
		108021: codes.Rejected,
	})
	priceRows := merged(orderRows, map[int64]codes.UserCode{
		108021: codes.PriceNotLower, 108022: codes.LimitReached, 108023: codes.InvalidInput,
		606041: codes.Rejected,
	})
	afterSaleRows := map[int64]codes.UserCode{
		10020001: codes.AfterSaleState, 10021041: codes.AfterSaleState, 10021051: codes.AfterSaleState,
		10021043: codes.UserAfterSaleMissing, 10021050: codes.UserAfterSaleMissing, 10021057: codes.UserAfterSaleMissing, 10020000: codes.UserAfterSaleMissing,
		10021044: codes.ConcurrentUpdate, 100003: codes.ConcurrentUpdate,
		10021045: codes.Rejected, 10021046: codes.Rejected,
		10021059: codes.RefundTooSoon,
		10021058: codes.ReturnAddressNeeded, 10021060: codes.ReturnAddressNeeded, 10021062: codes.ReturnAddressNeeded,
		10021068: codes.NegotiationRequired,
		40097:    codes.InvalidInput, 47001: codes.InvalidInput,
		// An order's not-found and state are not an after-sale write's.
		100002: codes.Rejected, 101100: codes.Rejected, 9999999: codes.Rejected,
	}
	tables := map[string]map[int64]codes.UserCode{
		"ship": deliveryRows, "updateShipment": deliveryRows, "notes": orderRows, "address": orderRows,
		"price": priceRows, "accept": afterSaleRows, "reject": afterSaleRows,
	}
	for name, rows := range tables {
		for errcode, want := range rows {
			t.Run(fmt.Sprintf("%s/%d", name, errcode), func(t *testing.T) {
				w, f := newFakeStore(t, 5*time.Second, answering(errcodeAnswer(errcode)))
				err := eachWrite[name](w)
				var r *order.Refusal
				if !errors.As(err, &r) || r.Code != want || r.Errcode == nil || *r.Errcode != errcode || r.Message == "" {
					t.Fatalf("got %v, want a %s refusal with errcode %d", err, want, errcode)
				}
				if n := len(f.Calls()); n != 1 {
					t.Fatalf("made %d calls", n)
				}
			})
		}
	}
}

func merged(base, extra map[int64]codes.UserCode) map[int64]codes.UserCode {
	m := maps.Clone(base)
	maps.Copy(m, extra)
	return m
}

// A quota errcode is an infrastructure error, as for reads, not a refusal.
func TestWriteQuotaIsNotARefusal(t *testing.T) {
	w, f := newFakeStore(t, 5*time.Second, answering(errcodeAnswer(45009)))
	err := eachWrite["ship"](w)
	var r *order.Refusal
	if errors.As(err, &r) || !order.IsCode(err, codes.UpstreamRateLimited) || order.MayHaveApplied(err) {
		t.Fatalf("got %v", err)
	}
	if n := len(f.Calls()); n != 1 {
		t.Fatalf("made %d calls", n)
	}
}

// A write that may have reached WeChat is sent once and reported as
// possibly applied: a timeout, a busy system, a garbled answer.
func TestWriteInDoubtIsNotRetried(t *testing.T) {
	for name, c := range map[string]struct {
		timeout time.Duration
		answer  func(*http.Request, int) string
	}{
		"timeout": {50 * time.Millisecond, func(r *http.Request, _ int) string {
			<-r.Context().Done()
			return okAnswer
		}},
		"system busy": {5 * time.Second, answering(errcodeAnswer(-1))},
		"null answer": {5 * time.Second, answering(`null`)},
	} {
		t.Run(name, func(t *testing.T) {
			w, f := newFakeStore(t, c.timeout, c.answer)
			for write, do := range eachWrite {
				before := len(f.Calls())
				err := do(w)
				var r *order.Refusal
				if err == nil || errors.As(err, &r) || !order.MayHaveApplied(err) {
					t.Fatalf("%s: got %v", write, err)
				}
				if n := len(f.Calls()) - before; n != 1 {
					t.Fatalf("%s: made %d calls", write, n)
				}
			}
		})
	}
}

// A refused access token is the one failure a write is sent again for,
// with a fresh token: WeChat refused the call, so nothing applied.
func TestWriteRetriesARefusedToken(t *testing.T) {
	w, f := newFakeStore(t, 5*time.Second, func(_ *http.Request, n int) string {
		if n == 0 {
			return errcodeAnswer(40001)
		}
		return okAnswer
	})
	if err := eachWrite["accept"](w); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 2 || calls[0].Token == calls[1].Token || calls[0].Body != calls[1].Body {
		t.Fatalf("calls %+v", calls)
	}
}

func TestDeliveryCompanies(t *testing.T) {
	w, f := newFakeStore(t, 5*time.Second, answering(`{"errcode":0,"errmsg":"ok","company_list":[
		{"delivery_id":"ZTO","delivery_name":"中通快递"},{"delivery_name":"no id"},{"delivery_id":"OTHER","delivery_name":"其他","extra":1}]}`))
	got, err := w.DeliveryCompanies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []order.DeliveryCompany{{DeliveryID: "ZTO", Name: "中通快递"}, {DeliveryID: "OTHER", Name: "其他"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	calls := f.Calls()
	if len(calls) != 1 || calls[0].Path != "/channels/ec/order/deliverycompanylist/new/get" || !sameJSON(t, calls[0].Body, `{"ewaybill_only":false}`) {
		t.Fatalf("calls %+v", calls)
	}
}

// The reasons are read under either name; a reason without its type's
// text is named by its wording.
func TestAftersaleRejectReasons(t *testing.T) {
	const reasons = `[{"reject_reason_type":1,"reject_reason_type_text":"商品已影响二次销售","reject_reason":"example","reject_scene":[1,4]},{"reject_reason_type":"2","reject_reason":"买家未退货"}]`
	want := []order.AftersaleRejectReason{{ReasonType: 1, Text: "商品已影响二次销售"}, {ReasonType: 2, Text: "买家未退货"}}
	for _, answer := range []string{
		`{"errcode":0,"reason_list":` + reasons + `}`,
		`{"errcode":0,"reject_reason_list":` + reasons + `}`,
		`{"errcode":0,"reason_list":[],"reject_reason_list":` + reasons + `}`,
	} {
		w, f := newFakeStore(t, 5*time.Second, answering(answer))
		got, err := w.AftersaleRejectReasons(context.Background())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %+v, %v", answer, got, err)
		}
		calls := f.Calls()
		if len(calls) != 1 || calls[0].Path != "/channels/ec/aftersale/rejectreason/get" || !sameJSON(t, calls[0].Body, `{}`) {
			t.Fatalf("calls %+v", calls)
		}
	}
	w, _ := newFakeStore(t, 5*time.Second, answering(okAnswer))
	if got, err := w.AftersaleRejectReasons(context.Background()); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no reasons: got %#v, %v", got, err)
	}
}

func TestReturnAddresses(t *testing.T) {
	w, f := newFakeStore(t, 5*time.Second, func(r *http.Request, _ int) string {
		if r.URL.Path == "/channels/ec/merchant/address/list" {
			return `{"errcode":0,"address_id_list":["11",22]}`
		}
		var req struct {
			ID string `json:"address_id"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		if req.ID == "11" {
			return `{"errcode":0,"address_detail":{"address_id":"11","name":"warehouse","address_info":{"user_name":"Wang","province_name":"广东省","city_name":"深圳市","county_name":"南山区","detail_info":"1 Road","tel_number":"13900000000","postal_code":"518000"},"default_recv":0,"default_send":1}}`
		}
		return `{"errcode":0,"address_detail":{"address_info":{"user_name":"Zhao"},"default_recv":1}}`
	})
	got, err := w.ReturnAddresses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []order.ReturnAddress{
		{ID: "11", UserName: ptr("Wang"), TelNumber: ptr("13900000000"), ProvinceName: ptr("广东省"), CityName: ptr("深圳市"), CountyName: ptr("南山区"), DetailInfo: ptr("1 Road")},
		{ID: "22", UserName: ptr("Zhao"), IsDefault: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	calls := f.Calls()
	if len(calls) != 3 || !sameJSON(t, calls[0].Body, `{"offset":0,"limit":20}`) ||
		calls[1].Path != "/channels/ec/merchant/address/get" || !sameJSON(t, calls[1].Body, `{"address_id":"11"}`) || !sameJSON(t, calls[2].Body, `{"address_id":"22"}`) {
		t.Fatalf("calls %+v", calls)
	}
}

// A list longer than order.MaxReturnAddresses is read no further: the
// query cost charges that many.
func TestReturnAddressesAreCapped(t *testing.T) {
	ids := make([]string, 150)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"%d"`, i+1)
	}
	w, f := newFakeStore(t, 5*time.Second, func(r *http.Request, _ int) string {
		if r.URL.Path == "/channels/ec/merchant/address/list" {
			return `{"errcode":0,"address_id_list":[` + strings.Join(ids, ",") + `]}`
		}
		return `{"errcode":0,"address_detail":{"address_info":{"user_name":"x"}}}`
	})
	got, err := w.ReturnAddresses(context.Background())
	if err != nil || len(got) != order.MaxReturnAddresses || got[order.MaxReturnAddresses-1].ID != fmt.Sprint(order.MaxReturnAddresses) {
		t.Fatalf("got %d addresses, %v", len(got), err)
	}
	if n := len(f.Calls()); n != 1+order.MaxReturnAddresses {
		t.Fatalf("made %d calls", n)
	}
}
