package flex

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Decoder reads one JSON document. Family packages drive it field by field
// (Object, List, Optional, and the scalar readers), writing straight into the
// domain model: no intermediate structs, no reflection, no second scan.
// Its readers are methods, d.StringPtr() and the like; only List and
// Optional, and readers built on them elsewhere, are functions taking the
// decoder, because a method cannot have type parameters.
//
// It keeps the semantics of encoding/json, against which it is fuzzed:
// member names match exactly or else case-insensitively, unknown members are
// skipped, a repeated member is applied again (sections merge, lists and
// scalars are replaced), invalid UTF-8 in strings becomes U+FFFD, and a
// document with anything after its value is an error.
type Decoder struct {
	dec  *jsontext.Decoder
	text string // the document: plain strings are substrings of it, not copies
	buf  bytes.Buffer
	vals *values
}

var pool = sync.Pool{New: func() any { return &Decoder{dec: jsontext.NewDecoder(bytes.NewReader(nil))} }}

// Decode reads body, a whole document, with read, and fails unless read
// consumed exactly one value. What it decodes keeps no reference to body:
// the caller may reuse it.
func Decode(body []byte, read func(*Decoder) error) error {
	d := pool.Get().(*Decoder)
	defer func() {
		d.text, d.vals = "", nil
		d.buf.Reset()
		pool.Put(d)
	}()
	d.vals = &values{}
	return d.run(string(body), read)
}

// run reads text with read. The tokenizer is as lenient as encoding/json:
// repeated names and invalid UTF-8 are allowed.
func (d *Decoder) run(text string, read func(*Decoder) error) error {
	d.text = text
	d.buf.Reset()
	d.buf.WriteString(text)
	d.dec.Reset(&d.buf, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err := read(d); err != nil {
		return err
	}
	if _, err := d.dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("more than one JSON value")
		}
		return err
	}
	return nil
}

// read returns the next value and where it starts in d.text.
func (d *Decoder) read() (jsontext.Value, int, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return nil, 0, err
	}
	return v, int(d.dec.InputOffset()) - len(v), nil
}

// unquote returns the text of the JSON string v found at start. Plain text,
// the common case, is a substring of the document; escapes and invalid
// UTF-8 go through encoding/json, for its exact semantics.
func (d *Decoder) unquote(v jsontext.Value, start int) (string, error) {
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return d.text[start+1 : start+len(v)-1], nil
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// scalar returns the text of a string (trimmed) or a number, "" for null.
func (d *Decoder) scalar() (string, error) {
	v, start, err := d.read()
	if err != nil {
		return "", err
	}
	switch v.Kind() {
	case 'n':
		return "", nil
	case '"':
		s, err := d.unquote(v, start)
		return strings.TrimSpace(s), err
	case '0':
		return d.text[start : start+len(v)], nil
	}
	return "", errNotScalar
}

// Int reads an integer sent as a number or a numeric string.
func (d *Decoder) Int() (Int, error) {
	s, err := d.scalar()
	if err != nil {
		return Int{}, err
	}
	return parseInt(s)
}

// ID reads a 64-bit id sent as a number or a numeric string; unset is 0.
func (d *Decoder) ID() (uint64, error) {
	s, err := d.scalar()
	if err != nil {
		return 0, err
	}
	return parseID(s)
}

// Time reads an instant sent as Unix seconds or China wall-clock text.
func (d *Decoder) Time() (Time, error) {
	s, err := d.scalar()
	if err != nil {
		return Time{}, err
	}
	return parseTime(s)
}

// String reads text, or a bare number kept as its digits.
func (d *Decoder) String() (String, error) {
	v, start, err := d.read()
	if err != nil {
		return String{}, err
	}
	switch v.Kind() {
	case 'n':
		return String{}, nil
	case '"':
		s, err := d.unquote(v, start)
		return String{V: s, Set: err == nil}, err
	case '0':
		return String{V: d.text[start : start+len(v)], Set: true}, nil
	}
	return String{}, errNotScalar
}

// Bool reads a boolean, also accepted as 0/1 or "true"/"false".
func (d *Decoder) Bool() (Bool, error) {
	v, _, err := d.read()
	if err != nil {
		return Bool{}, err
	}
	return parseBool(v)
}

// Fields are the member names an object type knows.
type Fields struct {
	names []string
	exact map[string]string
}

// NewFields returns the fields named names.
func NewFields(names ...string) *Fields {
	f := &Fields{names: names, exact: make(map[string]string, len(names))}
	for _, n := range names {
		f.exact[n] = n
	}
	return f
}

// match returns the field a member name stands for: an exact match, else
// the first that matches case-insensitively, as encoding/json does.
func (f *Fields) match(name []byte) (string, bool) {
	if n, ok := f.exact[string(name)]; ok {
		return n, true
	}
	for _, n := range f.names {
		if bytes.EqualFold(name, []byte(n)) {
			return n, true
		}
	}
	return "", false
}

// PeekObject reports whether the next value is an object, for a value the
// upstream sends either as a scalar or as an object.
func (d *Decoder) PeekObject() bool { return d.dec.PeekKind() == '{' }

// Object reads an object, calling member for each member that fields knows
// with its canonical name; member must read the value. Other members are
// skipped. A null reads as nothing and reports null; any other kind of value
// is an error.
func (d *Decoder) Object(fields *Fields, member func(name string) error) (null bool, err error) {
	switch d.dec.PeekKind() {
	case 'n':
		_, err := d.dec.ReadToken()
		return true, err
	case '{':
	default:
		_, _ = d.dec.ReadToken() // the error, if any, is the tokenizer's to report
		return false, errors.New("want an object")
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return false, err
	}
	for d.dec.PeekKind() != '}' {
		raw, start, err := d.read()
		if err != nil {
			return false, err
		}
		name := raw[1 : len(raw)-1]
		if bytes.IndexByte(name, '\\') >= 0 || !utf8.Valid(name) {
			s, err := d.unquote(raw, start)
			if err != nil {
				return false, err
			}
			name = []byte(s)
		}
		if n, ok := fields.match(name); ok {
			if err := member(n); err != nil {
				return false, err
			}
		} else if err := d.dec.SkipValue(); err != nil {
			return false, err
		}
	}
	_, err = d.dec.ReadToken()
	return false, err
}

// Optional reads an optional section into *p: null sets it to nil; an object
// is read into the section already there (as a repeated member merges), or
// into a new one.
func Optional[T any](d *Decoder, p **T, read func(*Decoder, *T) error) error {
	if d.dec.PeekKind() == 'n' {
		_, err := d.dec.ReadToken()
		*p = nil
		return err
	}
	if *p == nil {
		*p = new(T)
	}
	return read(d, *p)
}

// List reads a list that the upstream sends as an array or, for a single
// element, as the element itself. null and an empty object are no list.
// read reads one element, null included.
func List[T any](d *Decoder, read func(*Decoder, *T) error) ([]T, error) {
	switch d.dec.PeekKind() {
	case 'n':
		_, err := d.dec.ReadToken()
		return nil, err
	case '[':
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, err
		}
		out := []T{}
		for d.dec.PeekKind() != ']' {
			// Read in place: an element read through a pointer of its
			// own would be allocated once more.
			var zero T
			out = append(out, zero)
			if err := read(d, &out[len(out)-1]); err != nil {
				return nil, err
			}
		}
		_, err := d.dec.ReadToken()
		return out, err
	case '{':
		// Rare: read the object whole, so that an empty one can be told
		// apart, then the element from it.
		v, start, err := d.read()
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(v[1:len(v)-1])) == 0 {
			return nil, nil
		}
		var e T
		sub := &Decoder{dec: jsontext.NewDecoder(bytes.NewReader(nil)), vals: d.vals}
		if err := sub.run(d.text[start:start+len(v)], func(sub *Decoder) error { return read(sub, &e) }); err != nil {
			return nil, err
		}
		return []T{e}, nil
	}
	_, _ = d.dec.ReadToken()
	return nil, errors.New("want an object or an array")
}

// values hands out the pointers that optional fields of the domain need,
// from blocks allocated a few at a time rather than one allocation each.
type values struct {
	strings []string
	ints    []int64
	bools   []bool
	times   []time.Time
}

const block = 16

// take returns a pointer to v from blocks, nil when v was not set; err,
// the read's, passes through.
func take[T any](blocks *[]T, v T, set bool, err error) (*T, error) {
	if !set {
		return nil, err
	}
	if len(*blocks) == cap(*blocks) {
		*blocks = make([]T, 0, block)
	}
	*blocks = append(*blocks, v)
	return &(*blocks)[len(*blocks)-1], err
}

// The readers below give each scalar in the form the domain keeps it: a
// Value reader the zero value when unset, a Ptr reader nil. The pointers
// come from d's blocks (see values), but for IDPtr's.

// IntValue reads an integer; unset is 0.
func (d *Decoder) IntValue() (int64, error) {
	i, err := d.Int()
	return i.V, err
}

// IntPtr reads an optional integer.
func (d *Decoder) IntPtr() (*int64, error) {
	i, err := d.Int()
	return take(&d.vals.ints, i.V, i.Set, err)
}

// IDPtr reads an optional id; unset (or 0) is nil. Only after-sale records
// have one, once each: a block for them would cost every document.
func (d *Decoder) IDPtr() (*uint64, error) {
	id, err := d.ID()
	if id == 0 {
		return nil, err
	}
	return &id, err
}

// StringValue reads text; unset is "".
func (d *Decoder) StringValue() (string, error) {
	s, err := d.String()
	return s.V, err
}

// StringPtr reads optional text.
func (d *Decoder) StringPtr() (*string, error) {
	s, err := d.String()
	return take(&d.vals.strings, s.V, s.Set, err)
}

// BoolValue reads a boolean; unset is false.
func (d *Decoder) BoolValue() (bool, error) {
	b, err := d.Bool()
	return b.V, err
}

// BoolPtr reads an optional boolean.
func (d *Decoder) BoolPtr() (*bool, error) {
	b, err := d.Bool()
	return take(&d.vals.bools, b.V, b.Set, err)
}

// TimePtr reads an optional instant.
func (d *Decoder) TimePtr() (*time.Time, error) {
	t, err := d.Time()
	return take(&d.vals.times, t.T, t.Set, err)
}
