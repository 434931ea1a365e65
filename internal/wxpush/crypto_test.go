package wxpush

import (
	"errors"
	"strings"
	"testing"
)

// The vectors of the vendor doc (shared/upstream/store-message-push.md §2
// and §6), verbatim.
const (
	vectorAEncrypt = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
	vectorAMessage = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`
	vectorBKey     = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	vectorBEncrypt = "Q3stYC6hdFzMh9T8HCvyDLwX40GOIiz3iOxhFEe9NmLnTmXB2VVo1UX1FvaiafNvYEQ7x6kPcGzmWps46dnGHMWBN0LOPQqsea+z4RnTIuoI2uSJ8XKZvFmUDWIvVdHstKVqu4eou3thAjGRPaBuePZgKFjpsHL7dPk/X5ikwIQhzYYE+Izz0zf8K3VmvMpNx3cHOuRVMXFox6Uip0rIDmrwwz4C2c0gNROY5GbKqu64S1uQrbWdA2nZsA9JnG+fdJvp1DFhRSzXLp2F14S/TR/JPfbROUlWcQZxsAPgOtnv04U2ftc9J4SrxWM0SPoYzXJKxW6YvoqptwuYhFl+oGmMqXJAEk3parcA7CZ2mxMp0NM6GFMqXKO5JYGDyqcJ"
	vectorBMessage = `{"ToUserName":"gh_1234567890ab","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"channels_ec_order_pay","order_info":{"order_id":"3705115058471208928","pay_time":1714112440}}`
)

func mustCrypter(t *testing.T, token, key, appID string) *Crypter {
	t.Helper()
	c, err := NewCrypter(token, key, appID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestURLVerificationVectors(t *testing.T) {
	a := mustCrypter(t, "AAAAA", strings.Repeat("A", 43), "wxba5fad812f8e6fb9")
	if !a.VerifyURL("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492") {
		t.Error("the doc's GET vector does not verify")
	}
	if !a.VerifyURL("6c5c811b55cc85e0e1b54100749188c20beb3f5d", "1714112445", "415670741") {
		t.Error("vector A's URL signature does not verify")
	}
	if a.VerifyURL("f464b24fc39322e44b38aa78f5edd27bd1441697", "1714036504", "1514711492") {
		t.Error("a wrong signature verifies")
	}
	b := mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef")
	if !b.VerifyURL("8b620262450ad241493a3b2953b396ab1674e848", "1714112445", "1320562132") {
		t.Error("vector B's URL signature does not verify")
	}
}

func TestDecryptVectors(t *testing.T) {
	a := mustCrypter(t, "AAAAA", strings.Repeat("A", 43), "wxba5fad812f8e6fb9")
	if got, err := a.Decrypt("046e02f8204d34f8ba5fa3b1db94908f3df2e9b3", "1714112445", "415670741", vectorAEncrypt); err != nil || string(got) != vectorAMessage {
		t.Errorf("vector A: %q, %v", got, err)
	}
	b := mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef")
	if got, err := b.Decrypt("173a8898819dea39efbf4ff914135e6ae1cd2eb4", "1714112445", "1320562132", vectorBEncrypt); err != nil || string(got) != vectorBMessage {
		t.Errorf("vector B: %q, %v", got, err)
	}
	other := mustCrypter(t, "StoreToken2025", vectorBKey, "wxOTHER")
	if _, err := other.Decrypt("173a8898819dea39efbf4ff914135e6ae1cd2eb4", "1714112445", "1320562132", vectorBEncrypt); !errors.Is(err, ErrAppID) {
		t.Errorf("another appid: %v, want ErrAppID", err)
	}
	if _, err := b.Decrypt("173a8898819dea39efbf4ff914135e6ae1cd2eb5", "1714112445", "1320562132", vectorBEncrypt); !errors.Is(err, ErrSignature) {
		t.Errorf("a wrong msg_signature: %v, want ErrSignature", err)
	}
	// The signature covers the body: the right URL signature with another
	// body does not pass.
	if _, err := b.Decrypt("173a8898819dea39efbf4ff914135e6ae1cd2eb4", "1714112445", "1320562132", vectorAEncrypt); !errors.Is(err, ErrSignature) {
		t.Errorf("a swapped body: %v, want ErrSignature", err)
	}
	wrongKey := mustCrypter(t, "StoreToken2025", strings.Repeat("B", 43), "wx1234567890abcdef")
	if _, err := wrongKey.Decrypt("173a8898819dea39efbf4ff914135e6ae1cd2eb4", "1714112445", "1320562132", vectorBEncrypt); err == nil {
		t.Error("the wrong key decrypts")
	}
}

// Encrypt is what WeChat does: with vector B's random bytes it gives
// vector B's ciphertext and signature exactly.
func TestEncryptGivesVectorB(t *testing.T) {
	b := mustCrypter(t, "StoreToken2025", vectorBKey, "wx1234567890abcdef")
	var random [16]byte
	copy(random[:], "0123456789abcdef")
	enc, sig := b.Encrypt([]byte(vectorBMessage), random, "1714112445", "1320562132")
	if enc != vectorBEncrypt || sig != "173a8898819dea39efbf4ff914135e6ae1cd2eb4" {
		t.Fatalf("Encrypt gave %s / %s", enc, sig)
	}
}

func TestEncodingAESKeyIsChecked(t *testing.T) {
	for _, key := range []string{"", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("!", 43)} {
		if _, err := NewCrypter("t", key, "wx1"); err == nil {
			t.Errorf("%q accepted", key)
		}
	}
}
