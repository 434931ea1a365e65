package httpserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// The process's persisted queries are bounded by bytes, hashes included:
// the least recently used go first, and a document larger than the whole
// cache is not kept.
func TestAPQCacheIsBoundedByBytes(t *testing.T) {
	ctx := context.Background()
	c := newByteLRU(1000)
	c.Add(ctx, "big", strings.Repeat(" ", 1000))
	if _, ok := c.Get(ctx, "big"); ok {
		t.Fatal("a document larger than the cache was kept")
	}
	doc := func(i int) string { return fmt.Sprintf("{ a%03d }%s", i, strings.Repeat(" ", 80)) } // 88 bytes
	for i := range 20 {
		c.Add(ctx, fmt.Sprintf("h%02d", i), doc(i))
		c.Get(ctx, "h00") // a document in use
	}
	c.Add(ctx, "h19", doc(19)) // again: counted once
	var kept []string
	size := 0
	for i := range 20 {
		if d, ok := c.Get(ctx, fmt.Sprintf("h%02d", i)); ok {
			kept = append(kept, fmt.Sprint(i))
			size += 3 + len(d)
		}
	}
	// 91 bytes a hash and document: 10 fit in 1,000.
	if got := strings.Join(kept, ","); got != "0,11,12,13,14,15,16,17,18,19" {
		t.Fatalf("kept %s; want the one in use and the 9 added last", got)
	}
	if size != c.size {
		t.Fatalf("the cache counts %d bytes and holds %d", c.size, size)
	}
}

// The cache of parsed documents keeps none over 16 KB: its keys are the
// texts, which a client may pad up to MAX_BODY_BYTES.
func TestParsedDocumentsOver16KBAreNotCached(t *testing.T) {
	ctx := context.Background()
	c := smallOnly[string]{newByteLRU(1 << 30)}
	small, big := "{ __typename }", "{ __typename"+strings.Repeat(" ", MaxPersistedQueryBytes)+"}"
	c.Add(ctx, small, "parsed")
	c.Add(ctx, big, "parsed")
	if _, ok := c.Get(ctx, small); !ok {
		t.Error("a small document was not cached")
	}
	if _, ok := c.Get(ctx, big); ok {
		t.Error("a document over 16 KB was cached")
	}
}
