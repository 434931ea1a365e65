package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// ParsePublicKey reads a PEM public key (PKIX "PUBLIC KEY", or an X.509
// certificate) for RS256 or ES256 verification.
func ParsePublicKey(pemBytes []byte) (any, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		key = cert.PublicKey
	default:
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		key = k
	}
	if _, err := methodFor(key); err != nil {
		return nil, err
	}
	return key, nil
}

func methodFor(key any) (string, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", errors.New("RSA keys must have at least 2048 bits")
		}
		return jwt.SigningMethodRS256.Alg(), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("ECDSA keys must be on P-256 (ES256)")
		}
		return jwt.SigningMethodES256.Alg(), nil
	}
	return "", fmt.Errorf("unsupported public key type %T: want RSA or ECDSA P-256", key)
}

// ParseAPIKeys reads "name:role:sha256hex" entries separated by commas,
// each followed by optional parts: "write", the grant to run order
// actions, and "shop=<authorizer appid>", the shop the key acts for in
// provider mode (name:merchant:sha256hex:write:shop=wx0123456789abcdef).
// Keys are for server-to-server callers, so the role must be merchant: a
// buyer is a person and authenticates with a JWT that carries their openid.
func ParseAPIKeys(s string) ([]APIKey, error) {
	var keys []APIKey
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) < 3 {
			return nil, fmt.Errorf("entry %d: want name:role:sha256hex, then optionally :write and :shop=<appid>", len(keys)+1)
		}
		name, role, hash := parts[0], Role(parts[1]), parts[2]
		if role != RoleMerchant {
			return nil, fmt.Errorf("key %q: role %q; API keys can only have the merchant role", name, role)
		}
		raw, err := hex.DecodeString(hash)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("key %q: the hash must be 64 hex digits (sha256 of the key)", name)
		}
		k := APIKey{Name: name, Role: role}
		copy(k.Hash[:], raw)
		for i, opt := range parts[3:] {
			shop, isShop := strings.CutPrefix(opt, "shop=")
			switch {
			case opt == "write" && !k.Write:
				k.Write = true
			case isShop && k.Shop == "" && ValidShop(shop):
				k.Shop = shop
			default:
				// The part is not echoed: it could be a secret put in the
				// wrong place.
				return nil, fmt.Errorf("key %q: part %d: after the hash only write (the grant to run order actions) and shop=<appid> (its shop in provider mode) may follow, once each", name, 4+i)
			}
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}
