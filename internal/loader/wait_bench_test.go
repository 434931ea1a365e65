package loader

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// sleeper answers every order after a fixed upstream latency.
type sleeper time.Duration

func (s sleeper) Order(_ context.Context, id uint64) (*order.Order, error) {
	time.Sleep(time.Duration(s))
	return &order.Order{ID: id}, nil
}

// BenchmarkBatchWait measures what the batch wait adds to a request that
// loads 20 distinct orders, the way gqlgen resolves 20 aliased order fields
// (one goroutine each), against a 20 ms upstream. The metric
// ms-over-upstream/op is the latency beyond one upstream round trip.
func BenchmarkBatchWait(b *testing.B) {
	const upstream = 20 * time.Millisecond
	for _, wait := range []time.Duration{time.Nanosecond, 10 * time.Microsecond, 50 * time.Microsecond, DefaultConfig().Wait, 500 * time.Microsecond, time.Millisecond, 16 * time.Millisecond} {
		b.Run(fmt.Sprintf("wait=%v", wait), func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				l := New(sleeper(upstream), nil, Config{Wait: wait, Concurrency: 20})
				var wg sync.WaitGroup
				for id := range uint64(20) {
					wg.Go(func() { _, _ = l.Order(context.Background(), id+1) })
				}
				wg.Wait()
			}
			perOp := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(perOp-upstream)/1e6, "ms-over-upstream/op")
		})
	}
}
