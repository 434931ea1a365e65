// Package redistest starts a private redis-server for tests. Where the
// binary is missing the tests skip, saying how to run them, unless
// REQUIRE_REDIS is set (CI sets it), in which case they fail.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Server is a running redis-server listening on a Unix socket of its own.
// A socket path, unlike a free TCP port found by listening and closing,
// cannot be taken by anyone else between choosing it and binding it, and it
// stays the server's across Restart.
type Server struct {
	Socket string

	mu  sync.Mutex // Stop may run from a timer while the test restarts
	cmd *exec.Cmd
}

// URL is the server's unix:// URL, as REDIS_URL takes it.
func (s *Server) URL() string { return "unix://" + s.Socket + "?db=0" }

// Start starts a redis-server that is stopped when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REQUIRE_REDIS") != "" {
			tb.Fatal("redis-server not found and REQUIRE_REDIS is set")
		}
		tb.Skip("redis-server not installed: apt-get install redis-server, then run the tests again (REQUIRE_REDIS=1 makes this a failure)")
	}
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", s.Socket); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server did not listen on %s", s.Socket)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the server, as an outage would.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same socket, empty.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatal(err)
	}
	s.start(tb, bin)
}

// String is for test logs.
func (s *Server) String() string { return fmt.Sprintf("redis-server at %s", s.Socket) }
