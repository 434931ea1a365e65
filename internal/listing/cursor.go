package listing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
)

// Cursors seals and opens list cursors with AES-256-GCM under a key
// derived from CURSOR_SECRET. Sealed, a cursor shows nothing of what it
// holds (a buyer cannot read from it how many orders of others a scan
// passed), and one that was edited, or made for another caller, family,
// field or filter, does not open: the binding is the seal's additional
// data. Replicas that share the secret open each other's cursors.
type Cursors struct{ aead cipher.AEAD }

// NewCursors returns the cursors of secret; with an empty secret, of a key
// made for this process alone, whose cursors a restart or another replica
// does not open.
func NewCursors(secret []byte) *Cursors {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // never fails: it crashes the program instead
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "ordergraph list cursor v1", 32)
	if err != nil {
		panic(err) // only for a key length SHA-256 cannot give
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // only for a key length AES does not take
	}
	// Random nonces: a secret seals up to about 2^32 cursors before
	// nonces may repeat; rotate CURSOR_SECRET long before that.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic(err) // only for a block size GCM does not take
	}
	return &Cursors{aead: aead}
}

// cursor is what a sealed cursor holds: the absolute position of the
// order it follows, the range the walk's first page resolved (so that
// "now" does not move under a walk), and, for a family that pages by key,
// its token to resume after Pos.
type cursor struct {
	Pos    int    `json:"p"`
	From   int64  `json:"a,omitempty"`
	To     int64  `json:"b,omitempty"`
	Resume string `json:"r,omitempty"`
}

// maxPos bounds a cursor's position: no upstream list is longer, and
// positions after it cannot overflow.
const maxPos = math.MaxInt32

// maxCursorLen bounds the text of an after argument; a longer one is not a
// cursor and is refused before it is decoded.
const maxCursorLen = 2048

// scope is what a cursor is bound to: who asked, of which family, which
// field and with which filter, as the client sent it.
type scope struct {
	Caller string          `json:"c"`
	Family string          `json:"f"`
	Field  string          `json:"k"`
	Filter json.RawMessage `json:"h"`
}

// binding seals and opens the cursors of one scope.
type binding struct {
	cursors *Cursors
	scope   []byte
}

func (req Request) bind(field string, filter any) binding {
	f, _ := json.Marshal(filter)
	s, _ := json.Marshal(scope{Caller: req.Caller, Family: req.Family, Field: field, Filter: f})
	return binding{cursors: req.Cursors, scope: s}
}

func (b binding) seal(c cursor) string {
	plain, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b.cursors.aead.Seal(nil, nil, plain, b.scope))
}

// errNotACursor is the one answer to an after argument that does not open
// in this scope, whatever the reason: the reason would say something of a
// cursor the caller cannot read.
var errNotACursor = badInput("after is not a cursor of this field with this filter")

func (b binding) open(text string) (cursor, error) {
	if len(text) > maxCursorLen {
		return cursor{}, errNotACursor
	}
	sealed, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return cursor{}, errNotACursor
	}
	plain, err := b.cursors.aead.Open(nil, nil, sealed, b.scope)
	if err != nil {
		return cursor{}, errNotACursor
	}
	var c cursor
	if err := json.Unmarshal(plain, &c); err != nil || c.Pos < 0 || c.Pos > maxPos {
		return cursor{}, errNotACursor
	}
	return c, nil
}
