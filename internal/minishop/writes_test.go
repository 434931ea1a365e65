package minishop

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

const (
	testAppID  = "wxminishoptest"
	testSecret = "minishop-secret"
	testToken  = "minishop-token"
	// Ids above 2^53, which a float64 would round.
	bigOrderID   = 9007199254740993
	bigProductID = 18446744073709551615
	bigAfterSale = 9007199254740995
)

// call is one API call the fake received: its path and its body, verbatim.
type call struct{ path, body string }

// fakeShop is a Mini Shop that answers stable_token as WeChat does and
// every other call with answer, after checking the access token.
type fakeShop struct {
	mu     sync.Mutex
	calls  []call
	answer func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeShop) received() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// answering answers every call with body.
func answering(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }
}

func errcodeAnswer(errcode int64) func(http.ResponseWriter, *http.Request) {
	return answering(`{"errcode":` + strconv.FormatInt(errcode, 10) + `,"errmsg":"refused rid: 1-2-3"}`)
}

// newWrites returns the family's order.Writer on a fake shop. The
// transport would retry reads twice: writes must not be.
func newWrites(t *testing.T, timeout time.Duration, answer func(http.ResponseWriter, *http.Request)) (order.Writer, *fakeShop) {
	t.Helper()
	f := &fakeShop{answer: answer}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/stable_token", sandbox.StableToken(testAppID, testSecret, func(bool) (string, int64, int64) { return testToken, 7200, 0 }))
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, call{r.URL.Path, string(body)})
		f.mu.Unlock()
		if sandbox.CheckToken(w, r, func(tok string) bool { return tok == testToken }) {
			f.answer(w, r)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	transport := wechat.NewTransport(wechat.TransportConfig{BaseURL: srv.URL, Timeout: timeout, Retries: 2})
	tokens := token.NewManager(func(ctx context.Context, force bool) (string, time.Duration, error) {
		return transport.StableToken(ctx, testAppID, testSecret, force)
	}, token.Config{})
	w := Family.Build(wechat.NewClient(transport, tokens)).Writes
	if w == nil {
		t.Fatal("the Mini Shop family registers no Writes")
	}
	return w, f
}

// action is one write, as a test calls it.
type action struct {
	name string
	path string
	do   func(context.Context, order.Writer) error
	// refusals is the table the action's errcodes must follow, with the
	// user code each must give.
	table    wechat.Refusals
	refusals map[int64]codes.UserCode
}

var actions = []action{
	{
		name: "ship", path: "/product/delivery/send", table: shipRefusals,
		do: func(ctx context.Context, w order.Writer) error {
			return w.Ship(ctx, order.Shipment{OrderID: 1, Parcels: []order.Parcel{{DeliveryID: "SF", WaybillID: "SF1"}}})
		},
		refusals: map[int64]codes.UserCode{
			108009: codes.OrderState, 109000: codes.Rejected, 109001: codes.AlreadyShipped, 9401020: codes.InvalidInput,
			100002: codes.UserOrderNotFound, 100003: codes.ConcurrentUpdate, 101100: codes.OrderState,
		},
	},
	{
		name: "notes", path: "/product/order/change_merchant_notes", table: notesRefusals,
		do: func(ctx context.Context, w order.Writer) error { return w.SetMerchantNotes(ctx, 1, "call first") },
		refusals: map[int64]codes.UserCode{
			100002: codes.UserOrderNotFound, 100003: codes.ConcurrentUpdate, 9401020: codes.InvalidInput,
		},
	},
	{
		name: "price", path: "/product/order/change_order_price", table: priceRefusals,
		do: func(ctx context.Context, w order.Writer) error {
			return w.ChangePrice(ctx, order.PriceChange{OrderID: 1, Freight: ptr(int64(0))})
		},
		refusals: map[int64]codes.UserCode{
			101100: codes.OrderState, 108021: codes.PriceNotLower, 108022: codes.LimitReached, 108023: codes.InvalidInput,
			100002: codes.UserOrderNotFound, 100003: codes.ConcurrentUpdate, 9401020: codes.InvalidInput,
		},
	},
	{
		name: "accept", path: "/product/order/acceptapply", table: afterSaleRefusals,
		do: func(ctx context.Context, w order.Writer) error {
			return w.AcceptAfterSale(ctx, order.AfterSaleAccept{AfterSaleID: 1})
		},
		refusals: map[int64]codes.UserCode{
			100002: codes.UserAfterSaleMissing, 101100: codes.AfterSaleState, 100003: codes.ConcurrentUpdate, 9401020: codes.InvalidInput,
		},
	},
	{
		name: "reject", path: "/product/order/rejectrefund", table: afterSaleRefusals,
		do: func(ctx context.Context, w order.Writer) error {
			return w.RejectAfterSale(ctx, order.AfterSaleReject{AfterSaleID: 1, Reason: ptr("damaged by the buyer")})
		},
		refusals: map[int64]codes.UserCode{
			100002: codes.UserAfterSaleMissing, 101100: codes.AfterSaleState, 100003: codes.ConcurrentUpdate, 9401020: codes.InvalidInput,
		},
	},
}

// Each write sends the body Mini Shop documents, ids as exact JSON numbers.
func TestWritesSendTheirBodies(t *testing.T) {
	for _, tc := range []struct {
		name, path, want string
		do               func(context.Context, order.Writer) error
	}{
		{
			name: "ship the whole order", path: "/product/delivery/send",
			do: func(ctx context.Context, w order.Writer) error {
				return w.Ship(ctx, order.Shipment{OrderID: bigOrderID, Parcels: []order.Parcel{{DeliveryID: "SF", WaybillID: "SF123"}}})
			},
			want: `{"order_id":9007199254740993,"delivery_list":[{"delivery_id":"SF","waybill_id":"SF123","is_all_product":true}]}`,
		},
		{
			name: "ship in parcels", path: "/product/delivery/send",
			do: func(ctx context.Context, w order.Writer) error {
				return w.Ship(ctx, order.Shipment{OrderID: bigOrderID, Parcels: []order.Parcel{
					{DeliveryID: "SF", WaybillID: "SF1", Items: []order.ParcelItem{{ProductID: bigProductID, SkuID: 2, Count: 1}, {ProductID: 3, SkuID: 4, Count: 2}}},
					{DeliveryID: "ZTO", WaybillID: "ZT2", Items: []order.ParcelItem{{ProductID: 5, SkuID: 6, Count: 3}}},
				}})
			},
			want: `{"order_id":9007199254740993,"delivery_list":[` +
				`{"delivery_id":"SF","waybill_id":"SF1","is_all_product":false,"product_infos":[{"product_id":18446744073709551615,"sku_id":2,"product_cnt":1},{"product_id":3,"sku_id":4,"product_cnt":2}]},` +
				`{"delivery_id":"ZTO","waybill_id":"ZT2","is_all_product":false,"product_infos":[{"product_id":5,"sku_id":6,"product_cnt":3}]}]}`,
		},
		{
			name: "merchant notes", path: "/product/order/change_merchant_notes",
			do: func(ctx context.Context, w order.Writer) error {
				return w.SetMerchantNotes(ctx, bigOrderID, "请尽快发货")
			},
			want: `{"order_id":9007199254740993,"merchant_notes":"请尽快发货"}`,
		},
		{
			name: "price of lines and freight", path: "/product/order/change_order_price",
			do: func(ctx context.Context, w order.Writer) error {
				return w.ChangePrice(ctx, order.PriceChange{OrderID: bigOrderID, Freight: ptr(int64(500)), Lines: []order.PriceLine{{ProductID: bigProductID, SkuID: 2, NewLineTotal: 900}}})
			},
			want: `{"order_id":9007199254740993,"change_express":true,"express_fee":500,"change_order_infos":[{"product_id":18446744073709551615,"sku_id":2,"change_price":900}]}`,
		},
		{
			name: "freight only, to 0", path: "/product/order/change_order_price",
			do: func(ctx context.Context, w order.Writer) error {
				return w.ChangePrice(ctx, order.PriceChange{OrderID: bigOrderID, Freight: ptr(int64(0))})
			},
			want: `{"order_id":9007199254740993,"change_express":true,"express_fee":0}`,
		},
		{
			name: "lines only", path: "/product/order/change_order_price",
			do: func(ctx context.Context, w order.Writer) error {
				return w.ChangePrice(ctx, order.PriceChange{OrderID: bigOrderID, Lines: []order.PriceLine{{ProductID: 1, SkuID: 2, NewLineTotal: 1}}})
			},
			want: `{"order_id":9007199254740993,"change_express":false,"express_fee":0,"change_order_infos":[{"product_id":1,"sku_id":2,"change_price":1}]}`,
		},
		{
			name: "accept without an address", path: "/product/order/acceptapply",
			do: func(ctx context.Context, w order.Writer) error {
				return w.AcceptAfterSale(ctx, order.AfterSaleAccept{AfterSaleID: bigAfterSale})
			},
			want: `{"order_id":9007199254740995}`,
		},
		{
			name: "accept with a decimal address id", path: "/product/order/acceptapply",
			do: func(ctx context.Context, w order.Writer) error {
				return w.AcceptAfterSale(ctx, order.AfterSaleAccept{AfterSaleID: bigAfterSale, ReturnAddressID: ptr("18446744073709551615")})
			},
			want: `{"order_id":9007199254740995,"address_id":18446744073709551615}`,
		},
		{
			name: "accept with another address id", path: "/product/order/acceptapply",
			do: func(ctx context.Context, w order.Writer) error {
				return w.AcceptAfterSale(ctx, order.AfterSaleAccept{AfterSaleID: bigAfterSale, ReturnAddressID: ptr("addr-7")})
			},
			want: `{"order_id":9007199254740995,"address_id":"addr-7"}`,
		},
		{
			name: "accept with an address id a number would change", path: "/product/order/acceptapply",
			do: func(ctx context.Context, w order.Writer) error {
				return w.AcceptAfterSale(ctx, order.AfterSaleAccept{AfterSaleID: bigAfterSale, ReturnAddressID: ptr("007")})
			},
			want: `{"order_id":9007199254740995,"address_id":"007"}`,
		},
		{
			name: "reject", path: "/product/order/rejectrefund",
			do: func(ctx context.Context, w order.Writer) error {
				return w.RejectAfterSale(ctx, order.AfterSaleReject{AfterSaleID: bigAfterSale, Reason: ptr("商品已影响二次销售")})
			},
			want: `{"order_id":9007199254740995,"reject_reason":"商品已影响二次销售"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, shop := newWrites(t, 5*time.Second, answering(`{"errcode":0,"errmsg":"ok"}`))
			if err := tc.do(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			if got := shop.received(); len(got) != 1 || got[0] != (call{tc.path, tc.want}) {
				t.Fatalf("sent %q\nwant one call %s %s", got, tc.path, tc.want)
			}
		})
	}
}

// Every errcode of an action's table is a refusal with its user code and
// the errcode; any other errcode is REJECTED.
func TestWriteErrcodesAreRefusals(t *testing.T) {
	for _, a := range actions {
		for errcode := range a.table {
			if _, ok := a.refusals[errcode]; !ok {
				t.Errorf("%s: the test does not expect errcode %d", a.name, errcode)
			}
		}
		rows := map[int64]codes.UserCode{777777: codes.Rejected}
		for errcode, code := range a.refusals {
			rows[errcode] = code
		}
		for errcode, want := range rows {
			t.Run(a.name+"/"+strconv.FormatInt(errcode, 10), func(t *testing.T) {
				w, shop := newWrites(t, 5*time.Second, errcodeAnswer(errcode))
				err := a.do(context.Background(), w)
				var r *order.Refusal
				if !errors.As(err, &r) || r.Code != want || r.Errcode == nil || *r.Errcode != errcode || r.Message == "" {
					t.Fatalf("got %v, want a %s refusal with errcode %d", err, want, errcode)
				}
				if order.MayHaveApplied(err) || len(shop.received()) != 1 {
					t.Fatalf("%v after %d calls, want a certain refusal after one", err, len(shop.received()))
				}
			})
		}
	}
}

// Failures of the infrastructure stay top-level errors, not refusals.
func TestWriteInfrastructureErrcodesAreErrors(t *testing.T) {
	for _, a := range actions {
		for errcode, want := range map[int64]codes.Code{
			9401021: codes.UpstreamPermissionDenied,
			45011:   codes.UpstreamRateLimited,
		} {
			t.Run(a.name+"/"+strconv.FormatInt(errcode, 10), func(t *testing.T) {
				w, shop := newWrites(t, 5*time.Second, errcodeAnswer(errcode))
				err := a.do(context.Background(), w)
				var oe *order.Error
				var r *order.Refusal
				if !errors.As(err, &oe) || errors.As(err, &r) || oe.Code != want || oe.Errcode == nil || *oe.Errcode != errcode {
					t.Fatalf("got %#v, want an *order.Error %s with errcode %d", err, want, errcode)
				}
				if order.MayHaveApplied(err) || len(shop.received()) != 1 {
					t.Fatalf("%v after %d calls, want a certain failure after one", err, len(shop.received()))
				}
			})
		}
	}
}

// A write that may have reached WeChat is sent once and says it may have
// applied, though the transport retries reads twice.
func TestWriteInDoubtIsSentOnce(t *testing.T) {
	for _, a := range actions {
		for name, tc := range map[string]struct {
			timeout time.Duration
			answer  func(http.ResponseWriter, *http.Request)
		}{
			"timeout": {100 * time.Millisecond, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
			"busy":    {5 * time.Second, errcodeAnswer(-1)},
		} {
			t.Run(a.name+"/"+name, func(t *testing.T) {
				w, shop := newWrites(t, tc.timeout, tc.answer)
				err := a.do(context.Background(), w)
				if !order.MayHaveApplied(err) || order.ErrorCode(err) != codes.UpstreamUnavailable {
					t.Fatalf("got %v, want an unavailable upstream that may have applied the write", err)
				}
				if n := len(shop.received()); n != 1 {
					t.Fatalf("sent %d times, want once", n)
				}
			})
		}
	}
}

// What Mini Shop lacks, or an input it would refuse, is refused without a
// call.
func TestWritesRefusedWithoutACall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		do    func(context.Context, order.Writer) error
		code  codes.UserCode
		field []string
	}{
		{"virtual shipment", func(ctx context.Context, w order.Writer) error {
			return w.Ship(ctx, order.Shipment{OrderID: 1, Virtual: true})
		}, codes.NotSupported, []string{"input", "virtual"}},
		{"update shipment", func(ctx context.Context, w order.Writer) error {
			return w.UpdateShipment(ctx, order.Shipment{OrderID: 1, Parcels: []order.Parcel{{DeliveryID: "SF", WaybillID: "SF1"}}})
		}, codes.NotSupported, nil},
		{"change address", func(ctx context.Context, w order.Writer) error {
			return w.ChangeAddress(ctx, 1, order.Address{UserName: "x"})
		}, codes.NotSupported, nil},
		{"reject without a reason", func(ctx context.Context, w order.Writer) error {
			return w.RejectAfterSale(ctx, order.AfterSaleReject{AfterSaleID: 1, ReasonType: ptr(int64(1))})
		}, codes.InvalidInput, []string{"input", "reason"}},
		{"reject with an empty reason", func(ctx context.Context, w order.Writer) error {
			return w.RejectAfterSale(ctx, order.AfterSaleReject{AfterSaleID: 1, Reason: ptr("")})
		}, codes.InvalidInput, []string{"input", "reason"}},
		{"reject with a blank reason", func(ctx context.Context, w order.Writer) error {
			return w.RejectAfterSale(ctx, order.AfterSaleReject{AfterSaleID: 1, Reason: ptr(" \t")})
		}, codes.InvalidInput, []string{"input", "reason"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, shop := newWrites(t, 5*time.Second, answering(`{"errcode":0}`))
			err := tc.do(context.Background(), w)
			var r *order.Refusal
			if !errors.As(err, &r) || r.Code != tc.code || r.Errcode != nil || !slices.Equal(r.Field, tc.field) {
				t.Fatalf("got %#v, want a %s refusal of field %q", err, tc.code, tc.field)
			}
			if n := len(shop.received()); n != 0 {
				t.Fatalf("made %d calls, want none", n)
			}
		})
	}
}

// The carrier list is read at the top of the answer or under data.
func TestDeliveryCompanies(t *testing.T) {
	want := []order.DeliveryCompany{{DeliveryID: "SF", Name: "顺丰速运"}, {DeliveryID: "ZTO", Name: "中通快递"}}
	list := `[{"delivery_id":"SF","delivery_name":"顺丰速运"},{"delivery_id":"ZTO","delivery_name":"中通快递"}]`
	for name, answer := range map[string]string{
		"top level":    `{"errcode":0,"errmsg":"ok","company_list":` + list + `}`,
		"under data":   `{"errcode":0,"errmsg":"ok","data":{"company_list":` + list + `}}`,
		"both":         `{"errcode":0,"company_list":` + list + `,"data":{"company_list":[{"delivery_id":"OTHER"}]}}`,
		"empty at top": `{"errcode":0,"company_list":[],"data":{"company_list":` + list + `}}`,
		"an entry without an id": `{"errcode":0,"company_list":[{"delivery_id":"SF","delivery_name":"顺丰速运"},` +
			`{"delivery_name":"nameless"},null,{"delivery_id":"ZTO","delivery_name":"中通快递"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			w, shop := newWrites(t, 5*time.Second, answering(answer))
			got, err := w.DeliveryCompanies(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if calls := shop.received(); len(calls) != 1 || calls[0] != (call{"/product/delivery/get_company_list", "{}"}) {
				t.Fatalf("sent %q", calls)
			}
		})
	}
	t.Run("no permission", func(t *testing.T) {
		w, _ := newWrites(t, 5*time.Second, errcodeAnswer(9401021))
		if _, err := w.DeliveryCompanies(context.Background()); order.ErrorCode(err) != codes.UpstreamPermissionDenied {
			t.Fatalf("got %v, want %s", err, codes.UpstreamPermissionDenied)
		}
	})
}

// Mini Shop has no reject reasons or return addresses to list.
func TestListsMiniShopLacks(t *testing.T) {
	w, shop := newWrites(t, 5*time.Second, answering(`{"errcode":0}`))
	reasons, err := w.AftersaleRejectReasons(context.Background())
	if reasons != nil || err != nil {
		t.Fatalf("reject reasons: %v, %v", reasons, err)
	}
	addresses, err := w.ReturnAddresses(context.Background())
	if addresses != nil || err != nil {
		t.Fatalf("return addresses: %v, %v", addresses, err)
	}
	if n := len(shop.received()); n != 0 {
		t.Fatalf("made %d calls, want none", n)
	}
}
