// Package flex holds the tolerant JSON types every WeChat API family decodes
// with. The upstream is loose about JSON types: ids and counts arrive as
// numbers or numeric strings, times as seconds or as China wall-clock text,
// and some documented objects arrive as arrays. These types accept every form
// seen and keep integers exact by never going through float64.
package flex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ordergraph/ordergraph/internal/order"
)

// scalarText returns the text of a JSON string or number, "" for null.
func scalarText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return "", nil
	case b[0] == '"':
		s, err := unquote(b)
		return strings.TrimSpace(s), err
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		return string(b), nil
	}
	return "", fmt.Errorf("want a string or a number, got %.20s", b)
}

// unquote decodes a JSON string literal that the decoder has already
// validated. Plain text (the common case) is sliced out directly; escapes
// and invalid UTF-8 go through encoding/json for its exact semantics.
func unquote(b []byte) (string, error) {
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// Int is an integer (count, amount in fen, code) sent as a number or a
// numeric string. Set is false when the field was null or "".
type Int struct {
	V   int64
	Set bool
}

func (f *Int) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil || s == "" {
		*f = Int{}
		return err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %.30q", s)
	}
	*f = Int{V: v, Set: true}
	return nil
}

func (f Int) Ptr() *int64 {
	if !f.Set {
		return nil
	}
	v := f.V
	return &v
}

// ID is a 64-bit identifier sent as a number or a numeric string.
type ID uint64

func (f *ID) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil || s == "" {
		*f = 0
		return err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not a 64-bit id: %.30q", s)
	}
	*f = ID(v)
	return nil
}

// String is text that some upstream versions send as a bare number
// (prepay_id, transaction_id); the number's digits are kept as written.
type String struct {
	V   string
	Set bool
}

func (f *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = String{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*f = String{V: s, Set: true}
		return nil
	}
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	*f = String{V: s, Set: true}
	return nil
}

func (f String) Ptr() *string {
	if !f.Set {
		return nil
	}
	v := f.V
	return &v
}

// Bool is a boolean, also accepted as 0/1 or "true"/"false".
type Bool struct {
	V   bool
	Set bool
}

func (f *Bool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "true", `"true"`, "1", `"1"`:
		*f = Bool{V: true, Set: true}
	case "false", `"false"`, "0", `"0"`:
		*f = Bool{V: false, Set: true}
	case "null", `""`:
		*f = Bool{}
	default:
		return fmt.Errorf("not a boolean: %.20s", b)
	}
	return nil
}

func (f Bool) Ptr() *bool {
	if !f.Set {
		return nil
	}
	v := f.V
	return &v
}

const wallClockLayout = "2006-01-02 15:04:05"

// Time is an instant sent as Unix seconds (number or numeric string) or
// as "yyyy-MM-dd HH:mm:ss" China time. 0, "" and null mean unset.
type Time struct {
	T   time.Time
	Set bool
}

func (f *Time) UnmarshalJSON(b []byte) error {
	*f = Time{}
	s, err := scalarText(b)
	if err != nil || s == "" {
		return err
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs != 0 {
			*f = Time{T: time.Unix(secs, 0).In(order.ChinaTime), Set: true}
		}
		return nil
	}
	t, err := time.ParseInLocation(wallClockLayout, s, order.ChinaTime)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("not a time: %.30q", s)
		}
	}
	*f = Time{T: t, Set: true}
	return nil
}

func (f Time) Ptr() *time.Time {
	if !f.Set {
		return nil
	}
	t := f.T
	return &t
}

// List is a list that the upstream sometimes sends as a single object.
type List[T any] []T

func (l *List[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")) || bytes.Equal(b, []byte("{}")):
		*l = nil
		return nil
	case b[0] == '[':
		var items []T
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		*l = items
		return nil
	case b[0] == '{':
		var item T
		if err := json.Unmarshal(b, &item); err != nil {
			return err
		}
		*l = List[T]{item}
		return nil
	}
	return errors.New("want an object or an array")
}
