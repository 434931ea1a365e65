package order

import (
	"math"
	"strconv"
	"testing"

	"github.com/ordergraph/ordergraph/internal/codes"
)

func TestParseID(t *testing.T) {
	for _, ok := range []uint64{1, 12123121332, 1 << 53, 1<<53 + 1, 32423523451235145, math.MaxUint64} {
		if got, err := ParseID(strconv.FormatUint(ok, 10)); err != nil || got != ok {
			t.Errorf("%d: got %d, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", "0", "00", "007", "-1", "+1", " 1", "1 ", "1e5", "0x10", "18446744073709551616", "99999999999999999999999", "１２"} {
		if _, err := ParseID(bad); ErrorCode(err) != codes.BadUserInput {
			t.Errorf("%q: got %v, want BAD_USER_INPUT", bad, err)
		}
	}
}

// FuzzParseID: an accepted id is exactly the canonical decimal of a
// positive uint64, and every such decimal is accepted.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "12123121332", "18446744073709551615", "18446744073709551616", "007", "-1", "1e3", "", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if ErrorCode(err) != codes.BadUserInput {
				t.Fatalf("%q: uncoded error %v", s, err)
			}
			if n, perr := strconv.ParseUint(s, 10, 64); perr == nil && n > 0 && strconv.FormatUint(n, 10) == s {
				t.Fatalf("%q: canonical id refused", s)
			}
			return
		}
		if id == 0 || strconv.FormatUint(id, 10) != s {
			t.Fatalf("%q accepted as %d", s, id)
		}
	})
}
