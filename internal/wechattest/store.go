package wechattest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The WeChat Store's calls beyond order/get (see fake.go): the after-sale
// get, one id a call, and list/get and search, which answer ids only. They
// serve what SetOrder and SetAfterSale were given, which for a Store test
// is Store-shaped JSON: string ids and Unix-second times.

// SetSearchKey makes the Store's search answer its ids under key ("orders",
// as the vendor's example, the default; or "order_id_list", as its field
// table), as whole orders when whole is set.
func (f *Fake) SetSearchKey(key string, whole bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searchKey, f.searchWhole = key, whole
}

// storeAfterSale answers getaftersaleorder for one id, counted as a batch
// of one (see AfterSaleBatchSizes).
func (f *Fake) storeAfterSale(w http.ResponseWriter, r *http.Request) {
	defer f.enter()()
	if !f.wait(r) {
		return
	}
	var req struct {
		ID string `json:"after_sale_order_id"`
	}
	id, err := uint64(0), json.NewDecoder(r.Body).Decode(&req)
	if err == nil {
		id, err = strconv.ParseUint(req.ID, 10, 64)
	}
	if err != nil {
		writeErr(w, 47001)
		return
	}
	f.mu.Lock()
	f.afterSaleBatches = append(f.afterSaleBatches, []uint64{id})
	valid := f.valid[r.URL.Query().Get("access_token")]
	rec, ok := f.afterSales[id]
	f.mu.Unlock()
	switch {
	case !valid:
		writeErr(w, 40001)
	case !ok:
		writeErr(w, 10020000)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","after_sale_order":%s}`, rec)
	}
}

// storeNeighbours is what a status filter also matches on the Store.
var storeNeighbours = map[string][]string{"20": {"21"}, "30": {"21"}, "250": {"190", "200"}}

type storeRange struct {
	Start int64 `json:"start_time"`
	End   int64 `json:"end_time"`
}

type storeQuery struct {
	Created   *storeRange    `json:"create_time_range"`
	Updated   *storeRange    `json:"update_time_range"`
	Condition map[string]any `json:"search_condition"`
	Status    json.Number    `json:"status"`
	Openid    string         `json:"openid"`
	PageSize  int            `json:"page_size"`
	NextKey   *string        `json:"next_key"`
}

// storeList answers list/get and search from the orders set with SetOrder,
// newest first: for list/get, those created (or updated) in the range,
// which may span 7 days at most, of the buyer asked; for search, those
// whose JSON holds every condition's value. A status filter also matches
// its neighbours, as on the Store. next_key is an offset here.
func (f *Fake) storeList(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var q storeQuery
	if err := json.Unmarshal(body, &q); err != nil {
		writeErr(w, 47001)
		return
	}
	search := strings.HasSuffix(r.URL.Path, "/search")
	field, rng := "create_time", q.Created
	if q.Updated != nil {
		field, rng = "update_time", q.Updated
	}
	switch {
	case q.PageSize < 1 || q.PageSize > 100 || q.NextKey == nil,
		search && len(q.Condition) == 0,
		!search && (rng == nil || rng.End < rng.Start || rng.End-rng.Start > 7*24*3600):
		writeErr(w, 40097)
		return
	}
	statuses := map[string]bool{q.Status.String(): true}
	for _, n := range storeNeighbours[q.Status.String()] {
		statuses[n] = true
	}
	f.mu.Lock()
	f.listRequests = append(f.listRequests, string(body))
	valid := f.valid[r.URL.Query().Get("access_token")]
	key, whole := f.searchKey, f.searchWhole
	type listed struct {
		at   int64
		id   uint64
		body string
	}
	var all []listed
	for id, o := range f.orders {
		var fields map[string]any
		d := json.NewDecoder(strings.NewReader(o))
		d.UseNumber()
		if strings.HasPrefix(o, "RAW:") || d.Decode(&fields) != nil {
			continue
		}
		at, _ := strconv.ParseInt(str(fields[field]), 10, 64)
		matches := (q.Status == "" || statuses[str(fields["status"])]) && (q.Openid == "" || str(fields["openid"]) == q.Openid)
		if search {
			for _, v := range q.Condition {
				matches = matches && strings.Contains(o, str(v))
			}
		} else {
			matches = matches && at >= rng.Start && at <= rng.End
		}
		if matches {
			all = append(all, listed{at, id, o})
		}
	}
	f.mu.Unlock()
	if !valid {
		writeErr(w, 40001)
		return
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].at != all[j].at {
			return all[i].at > all[j].at
		}
		return all[i].id > all[j].id
	})
	start, _ := strconv.Atoi(*q.NextKey)
	start = min(start, len(all))
	end := min(start+q.PageSize, len(all))
	out := []string{}
	for _, o := range all[start:end] {
		if search && whole {
			out = append(out, o.body)
		} else {
			out = append(out, strconv.Quote(strconv.FormatUint(o.id, 10)))
		}
	}
	if !search || key == "" {
		key = map[bool]string{true: "orders", false: "order_id_list"}[search]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok",%q:[%s],"next_key":"%d","has_more":%t}`, key, strings.Join(out, ","), end, end < len(all))
}
