package component

import (
	"context"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/wechat"
)

// With a shared store, a process keeps a memory copy only of the shops it
// holds a token for: authorizations of other shops, and shops it forgets,
// leave nothing behind, so its memory follows the shops it serves.
func TestMemoryCopyFollowsHeldShops(t *testing.T) {
	p, err := New(Config{
		ComponentAppID: "wxcomponent", ComponentSecret: "s", Token: "t", AESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		Transport: wechat.NewTransport(wechat.TransportConfig{}), Store: NewLocalStore(),
	})
	if err != nil {
		t.Fatal(err)
	}
	copyOf := p.store.(*tiered).mem
	k := Key{Component: "wxcomponent", Authorizer: "wxshopa"}
	held := func() int {
		copyOf.mu.Lock()
		defer copyOf.mu.Unlock()
		return len(copyOf.grants) + len(copyOf.shops)
	}
	save := func() {
		ctx := context.Background()
		_ = p.store.SaveGrant(ctx, k, Grant{Token: "tok", Issued: time.Now(), Expires: time.Now().Add(time.Hour)}, time.Hour)
		_, _ = p.store.Authorize(ctx, k, time.Now(), "refresh", Grant{Token: "tok", Issued: time.Now(), Expires: time.Now().Add(time.Hour)}, time.Hour)
	}

	save()
	p.forgetCopy("wxshopa") // what an event for a shop this process does not serve ends with
	if n := held(); n != 0 {
		t.Fatalf("a shop this process does not serve left %d entries in memory", n)
	}
	p.ShopTokens("wxshopa")
	save()
	p.forgetCopy("wxshopa")
	if n := held(); n == 0 {
		t.Fatal("the copy of a shop this process serves was dropped")
	}
	p.Forget("wxshopa")
	if n := held(); n != 0 || len(p.shops) != 0 {
		t.Fatalf("Forget left %d entries and %d cells", n, len(p.shops))
	}
}
