package app_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/redistest"
	"github.com/ordergraph/ordergraph/internal/wechattest"
)

// replica is one server process of the real binary.
type replica struct {
	cmd  *exec.Cmd
	base string
	out  *syncBuf
}

// buildBinary builds the server once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ordergraph-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ordergraph")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/ordergraph/ordergraph").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func startReplica(t *testing.T, env map[string]string) *replica {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{out: &syncBuf{}}
	r.cmd = exec.Command(bin)
	// Port 0: the replica takes a free port itself and logs it, so no other
	// process can take it between choosing and binding.
	r.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "ADDR=127.0.0.1:0"}
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.kill)
	line, ok := r.out.waitFor(`"msg":"listening on `, 10*time.Second)
	if !ok {
		t.Fatalf("replica did not start: %s", r.out.String())
	}
	r.base, _, _ = strings.Cut(line, `"`)
	return r
}

func (r *replica) kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		_ = r.cmd.Wait()
	}
}

// fetchOrder asks r for order id and reports whether it came back intact.
func fetchOrder(client *http.Client, r *replica, id int) error {
	body := fmt.Sprintf(`{"query":"{ order(id: \"%d\") { id } }"}`, id)
	resp, err := client.Post(r.base+"/graphql", "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(fmt.Sprintf(`{"id":"%d"}`, id))) {
		return fmt.Errorf("replica %s, order %d: %d %s", r.base, id, resp.StatusCode, b)
	}
	return nil
}

// wave sends n concurrent requests spread over replicas; all must succeed.
func wave(t *testing.T, client *http.Client, replicas []*replica, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := fetchOrder(client, replicas[i%len(replicas)], 1000+i%300); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// loadDuring sends requests to replicas until stop closes, counting failures.
func loadDuring(client *http.Client, replicas []*replica, stop <-chan struct{}) (sent, failed int64, firstErr *atomic.Value) {
	var s, f atomic.Int64
	first := &atomic.Value{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.Add(1)
				if err := fetchOrder(client, replicas[(w+i)%len(replicas)], 1000+(w*37+i)%300); err != nil {
					f.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	return s.Load(), f.Load(), first
}

func TestReplicasShareOneTokenThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	redis := redistest.Start(t)
	fake := wechattest.New(t)
	for id := 1000; id < 1300; id++ {
		fake.SetOrder(uint64(id), fmt.Sprintf(`{"order_id":%d}`, id))
	}
	env := map[string]string{
		"WECHAT_APP_ID": wechattest.AppID, "WECHAT_APP_SECRET": wechattest.Secret, "WECHAT_API_BASE_URL": fake.URL,
		"REDIS_URL": redis.URL(), "ALLOW_ANONYMOUS": "true", "RATE_LIMIT": "0", "LOG_LEVEL": "info", // info: the start-up line names the port
		"ORDER_CACHE_TTL": "0s", // every request must reach WeChat with the token
	}
	replicas := []*replica{startReplica(t, env), startReplica(t, env), startReplica(t, env)}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}, Timeout: 20 * time.Second}

	wave(t, client, replicas, 300)
	if n := fake.TokenCalls.Load(); n != 1 {
		t.Fatalf("300 cold requests over 3 replicas made %d token calls, want 1", n)
	}

	fake.RevokeAll(false)
	wave(t, client, replicas, 300)
	if n := fake.TokenCalls.Load(); n != 2 {
		t.Fatalf("after revocation: %d token calls in total, want 2", n)
	}

	// Killing one replica fails no request sent to the others.
	stop := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, replicas[2].kill)
	time.AfterFunc(800*time.Millisecond, func() { close(stop) })
	if sent, failed, first := loadDuring(client, replicas[:2], stop); failed > 0 || sent == 0 {
		t.Fatalf("replica killed: %d of %d requests to the others failed: %v", failed, sent, first.Load())
	}

	// Stopping Redis fails no request, not even when the token must be
	// replaced while it is away.
	stop = make(chan struct{})
	time.AfterFunc(300*time.Millisecond, redis.Stop)
	time.AfterFunc(500*time.Millisecond, func() { fake.RevokeAll(false) })
	time.AfterFunc(1200*time.Millisecond, func() { close(stop) })
	if sent, failed, first := loadDuring(client, replicas[:2], stop); failed > 0 || sent == 0 {
		t.Fatalf("Redis stopped: %d of %d requests failed: %v", failed, sent, first.Load())
	}
	for _, r := range replicas[:2] {
		if n := strings.Count(r.out.String(), "shared token store unreachable"); n != 1 {
			t.Errorf("replica logged the Redis outage %d times, want once:\n%s", n, r.out.String())
		}
	}

	// Redis returns: the replicas share again.
	redis.Restart(t)
	fake.RevokeAll(false)
	before := fake.TokenCalls.Load()
	wave(t, client, replicas[:2], 200)
	if n := fake.TokenCalls.Load() - before; n != 1 {
		t.Fatalf("after Redis returned, a revocation cost %d token calls, want 1", n)
	}
	for _, r := range replicas {
		for _, secret := range append(fake.Issued(), wechattest.Secret) {
			if strings.Contains(r.out.String(), secret) {
				t.Errorf("a replica logged a secret")
			}
		}
	}
}
