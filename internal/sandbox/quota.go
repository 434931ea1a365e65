package sandbox

import (
	"encoding/json"
	"net/http"
	"sync"
)

// QuotaPath is WeChat's API that tells another API's daily call quota.
const QuotaPath = "/cgi-bin/openapi/quota/get"

// DailyQuota is the made-up daily call quota of every API of the sandbox.
const DailyQuota = 10000

// Calls counts the calls a fake upstream served, per API path, for its
// quota/get answers; the quota calls themselves are not counted.
type Calls struct {
	mu sync.Mutex
	n  map[string]int64
}

// Count counts r's call.
func (c *Calls) Count(r *http.Request) {
	if r.URL.Path == QuotaPath {
		return
	}
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[r.URL.Path]++
	c.mu.Unlock()
}

// Of is how many calls of path were served.
func (c *Calls) Of(path string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// QuotaAnswer is WeChat's answer to quota/get for an API with that daily
// limit and that many calls used today.
func QuotaAnswer(limit, used int64) map[string]any {
	a := errcode(0, "ok")
	a["quota"] = map[string]int64{"daily_limit": limit, "used": used, "remain": max(limit-used, 0)}
	return a
}

// quotaGet answers quota/get from the calls the sandbox served, against
// DailyQuota.
func (s *Sandbox) quotaGet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CgiPath string `json:"cgi_path"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.CgiPath == "" {
		WriteJSON(w, errcode(47001, "data format error"))
		return
	}
	WriteJSON(w, QuotaAnswer(DailyQuota, s.calls.Of(req.CgiPath)))
}
