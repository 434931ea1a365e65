package redistest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// The cluster serves every slot from three nodes, refuses a command whose
// keys span two slots (what the stores' hash tags exist to avoid), and
// comes back empty after a restart.
func TestCluster(t *testing.T) {
	c := StartCluster(t)
	seeds := strings.Split(c.URL(), ",")
	if len(seeds) != clusterSize {
		t.Fatalf("URL %q", c.URL())
	}
	opts, err := redis.ParseClusterURL(seeds[0])
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClusterClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	for _, key := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		if err := rdb.Set(ctx, key, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	nodes := c.clients()
	defer closeAll(nodes)
	for i, node := range nodes {
		if n := node.DBSize(ctx).Val(); n == 0 {
			t.Errorf("node %d holds none of eight keys", i)
		}
	}
	if err := rdb.MGet(ctx, "a", "b").Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("a command over two slots: %v", err)
	}
	if err := rdb.MGet(ctx, "{t}a", "{t}b").Err(); err != nil {
		t.Fatalf("a command over one hash tag: %v", err)
	}
	c.Restart(t)
	if keys := c.Keys(t); len(keys) != 0 {
		t.Fatalf("after a restart: %v", keys)
	}
	if err := rdb.Set(ctx, "a", "2", 0).Err(); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}
