package wxstore

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// benchSample runs op on the Store's order/get sample in a loop.
func benchSample(b *testing.B, op func([]byte) error) {
	body := sandbox.StoreVendorExample
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := op(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeVendorSample decodes the sample into the domain model, the
// per-order cost on every Store answer.
func BenchmarkDecodeVendorSample(b *testing.B) {
	benchSample(b, func(body []byte) error {
		_, err := decodeBody(body)
		return err
	})
}

// BenchmarkDecodeFloor only validates the same bytes with encoding/json,
// the least any decoder does: the floor of the ratio.
func BenchmarkDecodeFloor(b *testing.B) {
	benchSample(b, func(body []byte) error {
		if !json.Valid(body) {
			return errors.New("invalid JSON")
		}
		return nil
	})
}
