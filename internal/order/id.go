package order

import (
	"strconv"

	"github.com/ordergraph/ordergraph/internal/codes"
)

// ParseID parses a client-supplied order id: a positive decimal integer that
// fits in 64 bits, with no sign, spaces or leading zeros to hide a different
// number. It is checked before any upstream call is made.
func ParseID(s string) (uint64, error) {
	bad := func() (uint64, error) {
		return 0, Errorf(codes.BadUserInput, "invalid order id "+strconv.Quote(truncate(s, 40))+": must be a positive decimal integer below 2^64", nil)
	}
	if s == "" || s[0] == '0' || len(s) > 20 {
		return bad()
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return bad()
		}
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return bad()
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
