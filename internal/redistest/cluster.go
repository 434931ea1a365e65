package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is three redis-server nodes in cluster mode on loopback TCP
// ports, each a master of a third of the slots, without replicas.
type Cluster struct {
	bin   string
	mu    sync.Mutex // Stop may run from a timer while the test restarts
	nodes []*node
}

// node is one redis-server of a cluster: its port (the cluster bus is
// port+10000) and its directory, which holds its nodes.conf across Restart.
type node struct {
	port   int
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has ended
}

func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// clusterSize is how many masters a test cluster has: the fewest Redis
// Cluster lets stand, and enough to spread the slots over several nodes.
const clusterSize = 3

// StartCluster starts a three-node Redis Cluster, all 16384 slots
// assigned, that is stopped when the test ends; it returns once every node
// says the cluster is ok. It skips or fails where redis-server is missing,
// as Start does.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c := &Cluster{bin: binary(tb)}
	tb.Cleanup(c.Stop)
	for range clusterSize {
		n := &node{}
		c.nodes = append(c.nodes, n)
		c.startOnFreePort(tb, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := c.clients()
	defer closeAll(clients)
	// Distinct config epochs up front, as redis-cli --cluster create sets
	// them, spare the nodes resolving a collision before they agree.
	for i, rdb := range clients {
		if err := rdb.Do(ctx, "cluster", "set-config-epoch", i+1).Err(); err != nil {
			tb.Fatalf("cluster set-config-epoch on %s: %v", c.nodes[i].addr(), err)
		}
	}
	for _, n := range c.nodes[1:] {
		if err := clients[0].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(n.port)).Err(); err != nil {
			tb.Fatalf("cluster meet %s: %v", n.addr(), err)
		}
	}
	const slots = 16384
	for i, rdb := range clients {
		first, last := i*slots/clusterSize, (i+1)*slots/clusterSize-1
		if err := rdb.ClusterAddSlotsRange(ctx, first, last).Err(); err != nil {
			tb.Fatalf("cluster addslots %d-%d on %s: %v", first, last, c.nodes[i].addr(), err)
		}
	}
	c.waitOK(tb)
	return c
}

// startOnFreePort starts n on a port whose bus port is free too, trying
// others while a port turns out to be taken: another test process may
// take one between the check and redis-server binding it, and then
// redis-server exits.
func (c *Cluster) startOnFreePort(tb testing.TB, n *node) {
	tb.Helper()
	var last error
	for range 20 {
		n.port = freePortPair()
		if n.port == 0 {
			continue
		}
		n.dir = tb.TempDir()
		if last = c.start(n); last == nil {
			return
		}
	}
	tb.Fatalf("no cluster node started: %v", last)
}

// freePortPair is a port that, like its bus port 10000 above, nobody
// listens on now, or 0. Both lie below the kernel's ephemeral range
// (32768 up, by default), where outgoing connections take theirs.
func freePortPair() int {
	port := 15000 + rand.IntN(7000)
	for _, p := range []int{port, port + 10000} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return 0
		}
		_ = l.Close()
	}
	return port
}

// errExited is a node that ended before it answered: its port was taken.
var errExited = errors.New("redis-server exited")

// start starts n on its port and directory and waits until it answers as
// itself: a process that took the port first would answer too, with
// another directory.
func (c *Cluster) start(n *node) error {
	cmd := exec.Command(c.bin, "--port", strconv.Itoa(n.port), "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(n.dir, "nodes.conf"),
		"--save", "", "--appendonly", "no", "--dir", n.dir, "--logfile", filepath.Join(n.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c.mu.Lock()
	n.cmd, n.exited = cmd, exited
	c.mu.Unlock()
	rdb := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	var gone bool
	err := waitFor(10*time.Second, func() bool {
		select {
		case <-exited:
			gone = true
			return true
		default:
		}
		dir, err := rdb.ConfigGet(context.Background(), "dir").Result()
		return err == nil && sameDir(dir["dir"], n.dir)
	})
	if gone {
		log, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
		return fmt.Errorf("%w on port %d: %s", errExited, n.port, lastLine(string(log)))
	}
	if err != nil {
		c.stop(n)
		return fmt.Errorf("redis-server on port %d did not answer: %w", n.port, err)
	}
	return nil
}

// sameDir compares the directory a node reports with the one it was given,
// which may be reached through a symbolic link (macOS's /var).
func sameDir(reported, given string) bool {
	if reported == given {
		return true
	}
	resolved, err := filepath.EvalSymlinks(given)
	return err == nil && reported == resolved
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// clients are a client for each node, in order.
func (c *Cluster) clients() []*redis.Client {
	var out []*redis.Client
	for _, n := range c.nodes {
		out = append(out, redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1}))
	}
	return out
}

func closeAll(clients []*redis.Client) {
	for _, rdb := range clients {
		_ = rdb.Close()
	}
}

// waitOK waits until every node knows every other and says the cluster is
// ok: all slots served. A master says so only some time after it starts
// (Redis holds a fresh master back about two seconds), so this waits on
// the state, not for a time.
func (c *Cluster) waitOK(tb testing.TB) {
	tb.Helper()
	clients := c.clients()
	defer closeAll(clients)
	var info string
	err := waitFor(30*time.Second, func() bool {
		for _, rdb := range clients {
			var err error
			if info, err = rdb.ClusterInfo(context.Background()).Result(); err != nil ||
				!strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(clusterSize)) {
				return false
			}
		}
		return true
	})
	if err != nil {
		tb.Fatalf("the cluster %s is not ok: %v; last CLUSTER INFO:\n%s", c, err, info)
	}
}

// URL is the nodes' comma-separated redis:// URLs, as REDIS_URL takes the
// seeds of a cluster.
func (c *Cluster) URL() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, "redis://"+n.addr())
	}
	return strings.Join(urls, ",")
}

// Stop kills every node, as an outage of the whole cluster would.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		c.stop(n)
	}
}

func (c *Cluster) stop(n *node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.cmd != nil {
		_ = n.cmd.Process.Kill()
		<-n.exited
		n.cmd = nil
	}
}

// Restart starts every node again on its port, empty of keys, as the same
// node (its nodes.conf kept its identity and slots), and waits until the
// cluster is ok again.
func (c *Cluster) Restart(tb testing.TB) {
	tb.Helper()
	c.Stop()
	for _, n := range c.nodes {
		if err := c.start(n); err != nil {
			tb.Fatalf("restarting a cluster node: %v", err)
		}
	}
	c.waitOK(tb)
}

// Keys is every key on every node.
func (c *Cluster) Keys(tb testing.TB) []string {
	tb.Helper()
	clients := c.clients()
	defer closeAll(clients)
	var keys []string
	for _, rdb := range clients {
		k, err := rdb.Keys(context.Background(), "*").Result()
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, k...)
	}
	return keys
}

// String is for test logs.
func (c *Cluster) String() string { return "redis cluster at " + c.URL() }
