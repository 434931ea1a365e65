package scalar

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

func written(m graphql.Marshaler) string {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return b.String()
}

func TestMarshalUint64ID(t *testing.T) {
	for id, want := range map[uint64]string{0: `"0"`, 3710000000000031234: `"3710000000000031234"`, math.MaxUint64: `"18446744073709551615"`} {
		m := MarshalUint64ID(id)
		if got := written(m); got != want {
			t.Errorf("MarshalUint64ID(%d) = %s, want %s", id, got, want)
		}
		// Written twice (a response written again), it says the same.
		if got := written(m); got != want {
			t.Errorf("MarshalUint64ID(%d) written again = %s, want %s", id, got, want)
		}
	}
}

// Instants are written in China Standard Time whatever their location,
// including one too long for the marshaller's own buffer.
func TestMarshalDateTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2020, 3, 25, 5, 5, 25, 999, time.UTC), `"2020-03-25T13:05:25+08:00"`},
		{time.Date(2020, 3, 25, 13, 5, 25, 0, time.FixedZone("", 8*3600)), `"2020-03-25T13:05:25+08:00"`},
		{time.Time{}, `"0001-01-01T08:00:00+08:00"`},
		{time.Date(123456789, 1, 1, 0, 0, 0, 0, time.UTC), `"123456789-01-01T08:00:00+08:00"`},
	} {
		if got := written(MarshalDateTime(c.t)); got != c.want {
			t.Errorf("MarshalDateTime(%v) = %s, want %s", c.t, got, c.want)
		}
	}
}
