package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ordergraph/ordergraph/internal/app"
	"github.com/ordergraph/ordergraph/internal/metrics"
	"github.com/ordergraph/ordergraph/internal/minishop"
	"github.com/ordergraph/ordergraph/internal/sandbox"
	"github.com/ordergraph/ordergraph/internal/token"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

func numCPU() int { return runtime.NumCPU() }

// serveUntilSignal serves h on addr until SIGTERM or SIGINT.
func serveUntilSignal(addr string, h http.Handler) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
	<-ctx.Done()
	_ = srv.Close()
}

func healthz(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

// upstreamToken is the one access token the benchmark upstream issues.
const upstreamToken = "bench-upstream-token"

// runUpstream serves the WeChat calls at almost no cost per call, so that
// what the benchmark measures is the server's own work: a token, and for
// any order id one of a few sandbox orders rendered once, with the id
// spliced in. Fresh ids per request therefore cost the upstream nothing more
// than repeated ones, and no cache on the other side can profit from them.
func runUpstream(addr string, latency time.Duration) {
	const placeholder = "9999999999999999999"
	type template struct{ head, tail []byte }
	var templates []template
	for id := uint64(1000); id < 1064; id++ {
		o := sandbox.Generate(id)
		o["order_id"] = json.Number(placeholder)
		body, err := json.Marshal(map[string]any{"errcode": 0, "errmsg": "ok", "order": o})
		if err != nil || bytes.Count(body, []byte(placeholder)) != 1 {
			panic(fmt.Sprintf("order template %d: %v", id, err))
		}
		head, tail, _ := bytes.Cut(body, []byte(placeholder))
		templates = append(templates, template{head, tail})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("POST /cgi-bin/stable_token", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"access_token":"` + upstreamToken + `","expires_in":7200}`))
	})
	mux.HandleFunc("POST /product/order/get", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		body, _ := io.ReadAll(r.Body)
		_, digits, _ := bytes.Cut(body, []byte(`"order_id":`))
		digits = bytes.TrimRight(digits, "} \n")
		id, err := strconv.ParseUint(string(bytes.Trim(digits, `"`)), 10, 64)
		switch {
		case r.URL.Query().Get("access_token") != upstreamToken:
			_, _ = w.Write([]byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
		case err != nil:
			_, _ = w.Write([]byte(`{"errcode":9401020,"errmsg":"invalid parameter"}`))
		default:
			t := templates[id%uint64(len(templates))]
			w.Header().Set("Content-Type", "application/json")
			out := make([]byte, 0, len(t.head)+20+len(t.tail))
			out = append(strconv.AppendUint(append(out, t.head...), id, 10), t.tail...)
			_, _ = w.Write(out)
		}
	})
	serveUntilSignal(addr, mux)
}

// runServer runs the real server, as `go run .` would, against upstream;
// maxInFlight, when not 0, is its UPSTREAM_MAX_IN_FLIGHT.
func runServer(addr, upstream string, maxInFlight int) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := map[string]string{
		"ADDR": addr, "WECHAT_APP_ID": "wxbench", "WECHAT_APP_SECRET": "bench",
		"WECHAT_API_BASE_URL": upstream, "LOG_LEVEL": "error",
		"ALLOW_ANONYMOUS": "true", "RATE_LIMIT": "0", // the load comes from one client
	}
	if maxInFlight > 0 {
		env["UPSTREAM_MAX_IN_FLIGHT"] = strconv.Itoa(maxInFlight)
	}
	return app.Run(ctx, nil, func(k string) string { return env[k] }, os.Stdout, os.Stderr)
}

// fetchFunc fetches one order and returns what a floor writes back for it.
type fetchFunc func(ctx context.Context, id uint64) []byte

// floorHandler serves GET /orders?ids=1,2,3 with fetch: the distinct ids
// fetched concurrently, 16 at a time (the server's default), the answers
// written back as a JSON list aligned with the ids. No GraphQL, no
// dataloader, no coalescing.
func floorHandler(m *metrics.Metrics, fetch fetchFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		var ids []uint64
		for f := range strings.SplitSeq(r.URL.Query().Get("ids"), ",") {
			id, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				http.Error(w, "bad id", http.StatusBadRequest)
				return
			}
			ids = append(ids, id)
		}
		found := make(map[uint64][]byte, len(ids))
		var mu sync.Mutex
		var wg sync.WaitGroup
		slots := make(chan struct{}, 16)
		for _, id := range ids {
			if _, seen := found[id]; seen {
				continue
			}
			found[id] = nil
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				raw := fetch(r.Context(), id)
				mu.Lock()
				found[id] = raw
				mu.Unlock()
			})
		}
		wg.Wait()
		out := []byte{'['}
		for i, id := range ids {
			if i > 0 {
				out = append(out, ',')
			}
			if raw := found[id]; raw != nil {
				out = append(out, raw...)
			} else {
				out = append(out, "null"...)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(out, ']'))
	})
	return mux
}

// runFloor is the same-client floor: the server's own WeChat client, token
// and Mini Shop decoding, the orders re-encoded with encoding/json. Against
// it, the server's ratio is the cost of GraphQL alone.
func runFloor(addr, upstream string) {
	m := metrics.New()
	transport := wechat.NewTransport(wechat.TransportConfig{BaseURL: upstream, Metrics: m})
	tokens := token.NewManager(func(ctx context.Context, force bool) (string, time.Duration, error) {
		return transport.StableToken(ctx, "wxbench", "bench", force)
	}, token.Config{})
	orders := minishop.NewOrders(wechat.NewClient(transport, tokens))
	serveUntilSignal(addr, floorHandler(m, func(ctx context.Context, id uint64) []byte {
		o, err := orders.Order(ctx, id)
		if err != nil {
			return nil
		}
		raw, _ := json.Marshal(o)
		return raw
	}))
}

// runPassthrough is the raw floor: one token, one keep-alive client, and for
// each order the upstream reply scanned only far enough to cut out the raw
// order object, written back unmapped. Nothing can serve orders for less.
func runPassthrough(addr, upstream string) {
	m := metrics.New()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxIdleConns: 128}}
	post := func(ctx context.Context, path string, body []byte) ([]byte, error) {
		done := m.UpstreamStart(path)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, upstream+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			done("network")
			return nil, err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		done("0")
		return raw, err
	}
	raw, err := post(context.Background(), "/cgi-bin/stable_token", []byte(`{"grant_type":"client_credential","appid":"wxbench","secret":"bench"}`))
	var grant struct {
		AccessToken string `json:"access_token"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &grant)
	}
	if err != nil || grant.AccessToken == "" {
		fmt.Fprintln(os.Stderr, "passthrough: no token:", err)
		os.Exit(1)
	}
	path := "/product/order/get?access_token=" + grant.AccessToken
	serveUntilSignal(addr, floorHandler(m, func(ctx context.Context, id uint64) []byte {
		raw, err := post(ctx, path, strconv.AppendUint([]byte(`{"order_id":`), id, 10))
		if err != nil {
			return nil
		}
		o, err := rawOrder(raw)
		if err != nil {
			return nil
		}
		return o
	}))
}

// rawOrder cuts the order object out of a reply of the shape
// {"errcode":0,"errmsg":"ok","order":{...}}, without decoding it.
func rawOrder(reply []byte) ([]byte, error) {
	_, o, ok := bytes.Cut(reply, []byte(`"order":`))
	end := bytes.LastIndexByte(o, '}')
	if !ok || end < 1 {
		return nil, errors.New("no order in the reply")
	}
	return o[:end], nil
}
