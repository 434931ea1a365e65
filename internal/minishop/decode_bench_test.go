package minishop

import (
	"testing"

	"github.com/ordergraph/ordergraph/internal/sandbox"
)

// BenchmarkDecodeVendorExample decodes the vendor's example response into
// the domain model, the per-order cost on every upstream answer.
func BenchmarkDecodeVendorExample(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(sandbox.VendorExample)))
	for b.Loop() {
		if _, err := decodeBody(sandbox.VendorExample, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeReference is the decoder the one-pass decoder replaced, on
// the same input, for the ratio.
func BenchmarkDecodeReference(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(sandbox.VendorExample)))
	for b.Loop() {
		if _, err := decodeReference(sandbox.VendorExample, 1); err != nil {
			b.Fatal(err)
		}
	}
}
