package wxstore

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkDecodeVendorSample decodes the Store's order/get sample into the
// domain model, the per-order cost on every Store answer.
func BenchmarkDecodeVendorSample(b *testing.B) {
	body, err := os.ReadFile("testdata/order-get.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFloor only validates the same bytes with encoding/json,
// the least any decoder does: the floor of the ratio.
func BenchmarkDecodeFloor(b *testing.B) {
	body, err := os.ReadFile("testdata/order-get.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !json.Valid(body) {
			b.Fatal("invalid")
		}
	}
}
