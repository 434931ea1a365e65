// Package wxpush receives the WeChat Store's message push: it checks the
// console's URL verification, verifies and decrypts safe-mode events (the
// only mode the Store offers), and reads them into domain events with exact
// ids. Mini Shop pushes nothing.
package wxpush

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of a push that does not check out. None carries a secret.
var (
	ErrSignature = errors.New("wxpush: signature does not match")
	ErrMessage   = errors.New("wxpush: message does not decrypt")
	ErrAppID     = errors.New("wxpush: message is for another appid")
)

// Crypter holds the console's Token and EncodingAESKey and the shop's appid.
type Crypter struct {
	token string
	block cipher.Block
	iv    []byte
	appID string
}

// NewCrypter checks the EncodingAESKey (43 base64 characters, the AES-256
// key without its trailing "=") and returns a crypter for the shop appID.
func NewCrypter(token, encodingAESKey, appID string) (*Crypter, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if len(encodingAESKey) != 43 || err != nil || len(key) != 32 {
		return nil, fmt.Errorf("is not 43 base64 characters (the console's EncodingAESKey)")
	}
	block, _ := aes.NewCipher(key) // 32 bytes: cannot fail
	return &Crypter{token: token, block: block, iv: key[:16], appID: appID}, nil
}

// sign is WeChat's signature: the SHA-1 of the parts sorted and joined.
func sign(parts ...string) string {
	parts = slices.Clone(parts)
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// VerifyURL checks the signature of the console's GET verification.
func (c *Crypter) VerifyURL(signature, timestamp, nonce string) bool {
	return equal(sign(c.token, timestamp, nonce), signature)
}

// Decrypt checks msg_signature, which covers the ciphertext, and returns the
// event's JSON. The padding is PKCS#7 to 32-byte blocks; the plaintext is
// random(16) | length(4, big-endian) | message | appid.
func (c *Crypter) Decrypt(msgSignature, timestamp, nonce, encrypted string) ([]byte, error) {
	if !equal(sign(c.token, timestamp, nonce, encrypted), msgSignature) {
		return nil, ErrSignature
	}
	text, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil || len(text) == 0 || len(text)%32 != 0 {
		return nil, ErrMessage
	}
	cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(text, text)
	pad := int(text[len(text)-1])
	if pad < 1 || pad > 32 || !bytes.Equal(text[len(text)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrMessage
	}
	text = text[:len(text)-pad]
	if len(text) < 20 {
		return nil, ErrMessage
	}
	n := int(binary.BigEndian.Uint32(text[16:20]))
	if n > len(text)-20 {
		return nil, ErrMessage
	}
	if !equal(string(text[20+n:]), c.appID) {
		return nil, ErrAppID
	}
	return text[20 : 20+n], nil
}

// Encrypt is Decrypt's inverse, as WeChat does it, with random as the 16
// random bytes: what a stand-in for WeChat (the sandbox, tests) sends. It
// returns the Encrypt field and its msg_signature.
func (c *Crypter) Encrypt(message []byte, random [16]byte, timestamp, nonce string) (encrypted, msgSignature string) {
	var plain bytes.Buffer
	plain.Write(random[:])
	_ = binary.Write(&plain, binary.BigEndian, uint32(len(message)))
	plain.Write(message)
	plain.WriteString(c.appID)
	pad := 32 - plain.Len()%32
	plain.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	text := plain.Bytes()
	cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(text, text)
	encrypted = base64.StdEncoding.EncodeToString(text)
	return encrypted, sign(c.token, timestamp, nonce, encrypted)
}
