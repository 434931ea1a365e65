// Package flex reads WeChat's loose JSON in one pass. The upstream is loose
// about types: ids and counts arrive as numbers or numeric strings, times as
// seconds or as China wall-clock text, and some documented objects arrive as
// arrays. Decoder accepts every form seen, keeps integers exact by never going
// through float64, and scans each reply once: the tokenizer validates as it
// reads, and nothing is re-scanned or re-validated after it.
package flex

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ordergraph/ordergraph/internal/order"
)

// Int is an integer (count, amount in fen, code) sent as a number or a
// numeric string. Set is false when the field was null or "".
type Int struct {
	V   int64
	Set bool
}

// String is text that some upstream versions send as a bare number
// (prepay_id, transaction_id); the number's digits are kept as written.
type String struct {
	V   string
	Set bool
}

// Bool is a boolean, also accepted as 0/1 or "true"/"false".
type Bool struct {
	V   bool
	Set bool
}

// Time is an instant sent as Unix seconds (number or numeric string) or as
// "yyyy-MM-dd HH:mm:ss" China time. 0, "" and null mean unset.
type Time struct {
	T   time.Time
	Set bool
}

const wallClockLayout = "2006-01-02 15:04:05"

func parseInt(s string) (Int, error) {
	if s == "" {
		return Int{}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return Int{}, fmt.Errorf("not an integer: %.30q", s)
	}
	return Int{V: v, Set: true}, nil
}

func parseID(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a 64-bit id: %.30q", s)
	}
	return v, nil
}

func parseTime(s string) (Time, error) {
	if s == "" {
		return Time{}, nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs == 0 {
			return Time{}, nil
		}
		return Time{T: time.Unix(secs, 0).In(order.ChinaTime), Set: true}, nil
	}
	t, err := time.ParseInLocation(wallClockLayout, s, order.ChinaTime)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return Time{}, fmt.Errorf("not a time: %.30q", s)
		}
	}
	return Time{T: t, Set: true}, nil
}

// parseBool takes the raw JSON value: the accepted spellings are exact.
func parseBool(raw []byte) (Bool, error) {
	switch string(raw) {
	case "true", `"true"`, "1", `"1"`:
		return Bool{V: true, Set: true}, nil
	case "false", `"false"`, "0", `"0"`:
		return Bool{V: false, Set: true}, nil
	case "null", `""`:
		return Bool{}, nil
	}
	return Bool{}, fmt.Errorf("not a boolean: %.20s", raw)
}

var errNotScalar = errors.New("want a string or a number")
