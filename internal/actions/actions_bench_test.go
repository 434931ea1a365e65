package actions

import (
	"context"
	"strconv"
	"testing"
)

// What the protocol adds to an action, against the floor of calling the
// writer and reading the order back directly: an action with a fresh key
// (claim, lock, write, read-back, settle) and a replay (claim only).
func BenchmarkActionOverhead(b *testing.B) {
	b.Run("floor: write and read back", func(b *testing.B) {
		s := newShop()
		ctx := context.Background()
		for b.Loop() {
			_ = s.SetMerchantNotes(ctx, 1, "n")
			_, _ = s.Order(ctx, 1)
		}
	})
	b.Run("action, fresh key", func(b *testing.B) {
		svc := service(newShop(), &forgets{}, nil)
		ctx := merchant()
		i := 0
		for b.Loop() {
			i++
			if _, err := svc.SetMerchantNotes(ctx, SetMerchantNotesInput{IdempotencyKey: strconv.Itoa(i), OrderID: "1", Notes: "n"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		svc := service(newShop(), &forgets{}, nil)
		ctx := merchant()
		in := SetMerchantNotesInput{IdempotencyKey: "k", OrderID: "1", Notes: "n"}
		if _, err := svc.SetMerchantNotes(ctx, in); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if p, _ := svc.SetMerchantNotes(ctx, in); !p.Replayed {
				b.Fatal("not replayed")
			}
		}
	})
}
