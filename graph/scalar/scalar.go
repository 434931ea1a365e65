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
	return graphql.WriterFunc(func(w io.Writer) {
		var buf [24]byte
		b := append(buf[:0], '"')
		b = strconv.AppendUint(b, id, 10)
		b = append(b, '"')
		w.Write(b)
	})
}

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
	return graphql.WriterFunc(func(w io.Writer) {
		var buf [32]byte
		b := append(buf[:0], '"')
		b = t.In(order.ChinaTime).AppendFormat(b, dateTimeLayout)
		b = append(b, '"')
		w.Write(b)
	})
}

// UnmarshalDateTime reads an RFC 3339 date-time argument.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string")
	}
	return time.Parse(time.RFC3339, s)
}
