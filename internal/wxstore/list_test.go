package wxstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordergraph/ordergraph/internal/budget"
	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
	"github.com/ordergraph/ordergraph/internal/wechat"
)

type staticToken struct{}

func (staticToken) Token(context.Context) (string, error) { return "t", nil }
func (staticToken) Invalidate(string)                     {}

// upstream answers list/get with answer(next_key asked) and counts calls.
func upstream(t *testing.T, answer func(key string) string) (*Lists, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			NextKey string `json:"next_key"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		_, _ = w.Write([]byte(answer(req.NextKey)))
	}))
	t.Cleanup(srv.Close)
	client := wechat.NewClient(wechat.NewTransport(wechat.TransportConfig{BaseURL: srv.URL, Timeout: 5 * time.Second}), staticToken{})
	return NewLists(client), &calls
}

func week() order.ListQuery {
	to := time.Date(2024, 5, 8, 0, 0, 0, 0, order.ChinaTime)
	return order.ListQuery{Field: order.Created, From: to.Add(-7 * 24 * time.Hour), To: to, Limit: 5}
}

// An upstream that goes round in circles ends the walk as unavailable
// after a few calls, rather than spending the quota on it.
func TestWalkEndsOnAnUpstreamGoingRound(t *testing.T) {
	for name, answer := range map[string]func(string) string{
		"a next_key given before": func(key string) string {
			next := map[string]string{"": "A", "A": "B", "B": "A"}[key]
			return `{"errcode":0,"order_id_list":[],"next_key":"` + next + `","has_more":true}`
		},
		"the same next_key": func(key string) string {
			return `{"errcode":0,"order_id_list":["1"],"next_key":"K","has_more":true}`
		},
		"empty pages that say there is more": func(key string) string {
			return fmt.Sprintf(`{"errcode":0,"order_id_list":[],"next_key":"%s+","has_more":true}`, key)
		},
	} {
		t.Run(name, func(t *testing.T) {
			lists, calls := upstream(t, answer)
			_, err := lists.ListOrders(context.Background(), week())
			if order.ErrorCode(err) != codes.UpstreamUnavailable || calls.Load() > maxEmptyPages+2 {
				t.Fatalf("%v after %d calls", err, calls.Load())
			}
		})
	}
}

// A walk whose next call the operation's budget cannot pay for, with a get
// for every id its page may hold, stops and answers what it has; resumed
// where it stopped, it skips nothing and repeats nothing.
func TestWalkStopsWithinTheBudget(t *testing.T) {
	// One id a page, with more to come: 9 ids in all.
	lists, calls := upstream(t, func(key string) string {
		n := 0
		if key != "" {
			n = int(key[0] - '0')
		}
		return fmt.Sprintf(`{"errcode":0,"order_id_list":["%d"],"next_key":"%d","has_more":%t}`, 100+n, n+1, n < 8)
	})
	q := week()
	var got []string
	for pages := 0; pages < 10; pages++ {
		ctx := budget.With(context.Background(), 1+1+q.Limit+2, 0) // as charged, and 2 to spare
		before := calls.Load()
		page, err := lists.ListOrders(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if spent := calls.Load() - before; spent > 4 {
			t.Fatalf("a page made %d list calls, leaving too little for its gets", spent)
		}
		for _, id := range page.IDs {
			got = append(got, fmt.Sprint(id))
		}
		if !page.More {
			break
		}
		q.Resume = page.ResumeEnd
		if q.Resume == "" {
			q.Resume = page.Resume[len(page.Resume)-1]
		}
	}
	if strings.Join(got, ",") != "100,101,102,103,104,105,106,107,108" {
		t.Fatalf("walked %v", got)
	}
}
