package sandbox

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkOrderGet is the sandbox's cost of answering one generated order.
func BenchmarkOrderGet(b *testing.B) {
	s := New(0, MiniShopRoutes, StoreRoutes)
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		i++
		req := httptest.NewRequest("POST", "/product/order/get?access_token="+s.accessToken(), strings.NewReader(`{"order_id":`+itoa(100000+i)+`}`))
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
