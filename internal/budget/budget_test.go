package budget

import (
	"context"
	"testing"
)

// After-sale calls spend their own share and nothing of the rest, and the
// rest never spends theirs; without a budget nothing is refused.
func TestSharesAreKeptApart(t *testing.T) {
	ctx := With(context.Background(), 5, 2)
	after := ForAftersales(ctx)
	if Left(ctx) != 3 || Left(after) != 2 {
		t.Fatalf("left %d and %d", Left(ctx), Left(after))
	}
	for i := range 3 {
		if !Spend(ctx) {
			t.Fatalf("call %d of 3 refused", i+1)
		}
	}
	if Spend(ctx) {
		t.Fatal("a call took an after-sale order's share")
	}
	if !Spend(after) || !Spend(after) || Spend(after) {
		t.Fatal("after-sale calls: want 2 allowed, the third refused")
	}
	if !Spend(context.Background()) || Left(context.Background()) < 1<<30 {
		t.Fatal("work for no operation was refused")
	}
}
