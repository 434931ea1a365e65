// Package scalar marshals the schema's custom scalar bindings: 64-bit ids as
// exact decimal strings and instants as RFC 3339 in China Standard Time.
package scalar

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ordergraph/ordergraph/internal/order"
)

// MarshalUint64ID writes a 64-bit id as a JSON string, so JavaScript clients
// (whose numbers are float64) read every digit of ids beyond 2^53.
func MarshalUint64ID(id uint64) graphql.Marshaler {
	f := new(formatted)
	f.b = append(f.buf[:0], '"')
	f.b = strconv.AppendUint(f.b, id, 10)
	f.b = append(f.b, '"')
	return f
}

// formatted is a scalar's JSON, formatted as its field resolves and
// written out with the response. Its bytes live in it: a closure that
// formatted into a buffer of its own at write time cost that buffer too (it
// escapes through io.Writer), two allocations a value where this is one,
// on every id and instant of every response. A value longer than buf (a DateTime past year 9999) grows b
// out of it, as append does.
type formatted struct {
	buf [32]byte
	b   []byte
}

func (f *formatted) MarshalGQL(w io.Writer) { _, _ = w.Write(f.b) }

// UnmarshalUint64ID reads an id argument, as a string or an integer literal.
func UnmarshalUint64ID(v any) (uint64, error) {
	s, err := graphql.UnmarshalID(v)
	if err != nil {
		return 0, err
	}
	return order.ParseID(s)
}

const dateTimeLayout = "2006-01-02T15:04:05-07:00"

// MarshalDateTime writes t as RFC 3339 with the +08:00 offset.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	f := new(formatted)
	f.b = append(f.buf[:0], '"')
	f.b = t.In(order.ChinaTime).AppendFormat(f.b, dateTimeLayout)
	f.b = append(f.b, '"')
	return f
}

// UnmarshalDateTime reads an RFC 3339 date-time argument.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string")
	}
	return time.Parse(time.RFC3339, s)
}
