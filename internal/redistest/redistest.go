// Package redistest starts a private redis-server for tests, or a private
// three-node Redis Cluster (StartCluster). Where the binary is missing the
// tests skip, saying how to run them, unless REQUIRE_REDIS is set (CI sets
// it), in which case they fail. With REDIS_TEST_CLUSTER set, Start starts a
// cluster instead of a single server, so that the same tests run once
// against a cluster (CI does that too).
package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server listening on a Unix socket of its own,
// or, under REDIS_TEST_CLUSTER, a Cluster standing in for one. A socket
// path, unlike a free TCP port found by listening and closing, cannot be
// taken by anyone else between choosing it and binding it, and it stays the
// server's across Restart.
type Server struct {
	// Socket is the single server's socket; "" for a cluster.
	Socket string

	cluster *Cluster
	mu      sync.Mutex // Stop may run from a timer while the test restarts
	cmd     *exec.Cmd
}

// URL is the server's unix:// URL, or the cluster's seeds, as REDIS_URL
// takes them.
func (s *Server) URL() string {
	if s.cluster != nil {
		return s.cluster.URL()
	}
	return "unix://" + s.Socket + "?db=0"
}

// binary is the redis-server to start, or skips (or fails) the test.
func binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REQUIRE_REDIS") != "" {
			tb.Fatal("redis-server not found and REQUIRE_REDIS is set")
		}
		tb.Skip("redis-server not installed: apt-get install redis-server, then run the tests again (REQUIRE_REDIS=1 makes this a failure)")
	}
	return bin
}

// Start starts a redis-server that is stopped when the test ends; with
// REDIS_TEST_CLUSTER set, a three-node cluster.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if os.Getenv("REDIS_TEST_CLUSTER") != "" {
		return &Server{cluster: StartCluster(tb)}
	}
	bin := binary(tb)
	// Not tb.TempDir(): its path can pass the 108-byte limit of a socket path.
	dir, err := os.MkdirTemp("", "redis")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{Socket: filepath.Join(dir, "redis.sock")}
	s.start(tb, bin)
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start(tb testing.TB, bin string) {
	tb.Helper()
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", s.Socket, "--save", "", "--appendonly", "no", "--dir", tb.TempDir())
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Socket, MaxRetries: -1})
	defer rdb.Close()
	if err := waitFor(10*time.Second, func() bool { return rdb.Ping(context.Background()).Err() == nil }); err != nil {
		tb.Fatalf("redis-server did not listen on %s", s.Socket)
	}
}

// Stop kills the server (every node of a cluster), as an outage would.
func (s *Server) Stop() {
	if s.cluster != nil {
		s.cluster.Stop()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same socket (a cluster on the
// same ports), empty.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if s.cluster != nil {
		s.cluster.Restart(tb)
		return
	}
	s.Stop()
	s.start(tb, binary(tb))
}

// Keys is every key the server holds, on every node of a cluster.
func (s *Server) Keys(tb testing.TB) []string {
	tb.Helper()
	if s.cluster != nil {
		return s.cluster.Keys(tb)
	}
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Socket})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// String is for test logs.
func (s *Server) String() string {
	if s.cluster != nil {
		return s.cluster.String()
	}
	return fmt.Sprintf("redis-server at %s", s.Socket)
}

// waitFor polls done every few milliseconds until it holds, for up to
// limit.
func waitFor(limit time.Duration, done func() bool) error {
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
