// Package auth decides who is calling: it verifies JWT bearer tokens and API
// keys, yields a Principal (a role, and for buyers their openid), and says
// which orders that principal may see. It knows nothing of GraphQL.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/httprate"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ordergraph/ordergraph/internal/order"
)

// Role is what a principal may see.
type Role string

const (
	// RoleMerchant sees every order of the shop.
	RoleMerchant Role = "merchant"
	// RoleBuyer sees only orders whose openid is the buyer's own.
	RoleBuyer Role = "buyer"
)

// Principal is an authenticated caller.
type Principal struct {
	Role Role
	// Openid is the buyer's openid; empty for merchants.
	Openid string
	// Subject names the caller for rate limits and logs: "jwt:<sub>",
	// "apikey:<name>", or "" for anonymous access.
	Subject string
	// Expires is when the caller's token expires; zero for none. A
	// long-lived subscription ends then.
	Expires time.Time
	// CanWrite says the caller may run order actions (mutations): a
	// merchant JWT whose scope claim has WriteScope, an API key with the
	// write grant, or anyone in the sandbox.
	CanWrite bool
	// Shop is the authorizer appid of the shop the caller acts for, in
	// provider mode: the JWT's shop claim, or the API key's binding. Empty
	// on a server of one shop.
	Shop string
}

// WriteScope is the JWT scope that lets a merchant run order actions.
const WriteScope = "orders:write"

// Leeway is how far past its exp (and before its nbf) a token is still
// accepted: the clocks of issuer and server differ.
const Leeway = 30 * time.Second

// ErrExpired ends what a principal holds open (a WebSocket, an SSE stream)
// once its token is no longer accepted.
var ErrExpired = errors.New("the token expired")

// ValidUntil is when p's token stops being accepted, its leeway included;
// zero for a credential that does not expire.
func (p Principal) ValidUntil() time.Time {
	if p.Expires.IsZero() {
		return time.Time{}
	}
	return p.Expires.Add(Leeway)
}

// Anonymous is the principal of every request when authentication is off:
// the server then trusts whoever can reach it, as a merchant.
var Anonymous = Principal{Role: RoleMerchant}

// CanSee reports whether p may read o. A buyer sees an order only when its
// openid is the buyer's own; an order without an openid is no buyer's.
func (p Principal) CanSee(o *order.Order) bool { return p.owns(o.Openid) }

// CanSeeAfterSale reports whether p may read a, by the same rule.
func (p Principal) CanSeeAfterSale(a *order.AfterSaleOrder) bool { return p.owns(a.Openid) }

func (p Principal) owns(openid *string) bool {
	switch p.Role {
	case RoleMerchant:
		return true
	case RoleBuyer:
		return openid != nil && p.Openid != "" && subtle.ConstantTimeCompare([]byte(*openid), []byte(p.Openid)) == 1
	}
	return false
}

// APIKey is one configured key: its name, its role and the SHA-256 of the
// key. Only the hash is ever held.
type APIKey struct {
	Name string
	Role Role
	Hash [sha256.Size]byte
	// Write is the key's write grant: it may run order actions.
	Write bool
	// Shop is the shop the key is bound to (provider mode).
	Shop string
}

// Config selects the credentials accepted. With neither JWT nor API keys
// enabled, every request is Anonymous.
type Config struct {
	JWT bool
	// Exactly one of JWTSecret (HS256) and JWTPublicKey (RS256 for an RSA
	// key, ES256 for an ECDSA P-256 key) is set when JWT is enabled.
	JWTSecret    []byte
	JWTPublicKey any
	JWTIssuer    string
	JWTAudience  string
	APIKeys      []APIKey
	// AnonymousWrites lets anonymous callers run order actions: the
	// sandbox's, where the orders are made up.
	AnonymousWrites bool
	// RequireShop is provider mode: every credential must name its shop,
	// and a caller is held to it.
	RequireShop bool
	// ShopHeader lets anonymous callers pick their shop with the X-Shop
	// header: the sandbox's provider mode without authentication, so that
	// the playground can switch shops. Never set with real credentials.
	ShopHeader bool
	// Now is the clock for exp and nbf; nil means time.Now.
	Now func() time.Time
}

// Authenticator verifies the credentials of requests.
type Authenticator struct {
	cfg    Config
	parser *jwt.Parser
	key    any
}

// ErrUnauthenticated is returned for missing or unacceptable credentials.
// Its text is safe for clients; the reason stays in the wrapped error.
var ErrUnauthenticated = errors.New("missing or invalid credentials")

// ErrNoSubject refuses a JWT without a sub claim: per-client limits (the
// rate limit, subscriptions per client) count by subject, and a token that
// names nobody would fall back to its IP address, shared with others or
// changed at will.
var ErrNoSubject = errors.New("the token has no sub claim, which names the caller")

// ErrNoShop refuses, in provider mode, a credential that names no shop (or
// names it badly): the server could not tell whose orders it may read.
var ErrNoShop = errors.New("the credential names no shop: in provider mode a JWT needs the shop claim (the shop's authorizer appid), an API key its shop= binding")

// ErrNoShopHeader is ErrNoShop where the X-Shop header picks the shop.
var ErrNoShopHeader = errors.New("name the shop with the X-Shop header (the sandbox's shops are in its start-up log)")

// Refusal is what a client is told about err, an error of Authenticate:
// the generic refusal, which says nothing an attacker could use (expired,
// or badly signed?), unless the credential lacks what its issuer must add.
func Refusal(err error) string {
	for _, missing := range []error{ErrNoSubject, ErrNoShop, ErrNoShopHeader} {
		if errors.Is(err, missing) {
			return ErrUnauthenticated.Error() + ": " + missing.Error()
		}
	}
	return ErrUnauthenticated.Error()
}

// ShopHeader is the header that picks the shop where Config.ShopHeader
// allows it.
const ShopHeader = "X-Shop"

// shopPattern is what an authorizer appid may look like (WeChat's are "wx"
// and 16 hex digits): it becomes part of keys in Redis and in memory.
var shopPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ValidShop reports whether s may name a shop.
func ValidShop(s string) bool { return shopPattern.MatchString(s) }

// New returns an Authenticator for cfg.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{cfg: cfg}
	if !cfg.JWT {
		return a, nil
	}
	var method string
	switch k := cfg.JWTPublicKey.(type) {
	case nil:
		if len(cfg.JWTSecret) == 0 {
			return nil, errors.New("JWT needs a secret or a public key")
		}
		method, a.key = jwt.SigningMethodHS256.Alg(), cfg.JWTSecret
	default:
		var err error
		if method, err = methodFor(k); err != nil {
			return nil, err
		}
		a.key = k
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	// One algorithm only: alg "none" and algorithm confusion (an HS256
	// token "signed" with the RSA public key) fail before any key is used.
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{method}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now),
		jwt.WithLeeway(Leeway),
	}
	if cfg.JWTIssuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.JWTIssuer))
	}
	if cfg.JWTAudience != "" {
		opts = append(opts, jwt.WithAudience(cfg.JWTAudience))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// Enabled reports whether requests must carry credentials.
func (a *Authenticator) Enabled() bool { return a.cfg.JWT || len(a.cfg.APIKeys) > 0 }

// claims are the JWT claims the server reads.
type claims struct {
	jwt.RegisteredClaims
	Role   Role   `json:"role"`
	Openid string `json:"openid"`
	// Scope is OAuth's list of scopes (RFC 8693's scope claim): a
	// space-separated string, or an array as some issuers send it; scp is
	// the name others use.
	Scope scopes `json:"scope"`
	Scp   scopes `json:"scp"`
	// Shop is the authorizer appid of the caller's shop (provider mode).
	Shop string `json:"shop"`
}

// scopes reads a scope claim given as a space-separated string or as an
// array of strings; anything else holds no scope rather than failing the
// token, since a caller without the scope still reads.
type scopes []string

func (s *scopes) UnmarshalJSON(b []byte) error {
	var text string
	if json.Unmarshal(b, &text) == nil {
		*s = strings.Fields(text)
		return nil
	}
	var list []string
	if json.Unmarshal(b, &list) == nil {
		*s = list
	}
	return nil
}

// Authenticate returns the principal of r. An API key (X-API-Key) is tried
// when keys are configured, a bearer token when JWTs are enabled.
//
// In provider mode the principal's shop comes from the credential alone,
// and one that names none is refused (ErrNoShop).
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	p, err := a.credential(r)
	if err != nil || !a.cfg.RequireShop {
		// A server of one shop: a shop claim names nothing here.
		p.Shop = ""
		return p, err
	}
	if !a.Enabled() && a.cfg.ShopHeader {
		p.Shop = r.Header.Get(ShopHeader)
	}
	if !ValidShop(p.Shop) {
		if a.cfg.ShopHeader && !a.Enabled() {
			return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrNoShopHeader)
		}
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrNoShop)
	}
	if p.Subject != "" {
		// Two shops' callers may share a sub: every per-client limit and
		// record keeps them apart.
		p.Subject += "@" + p.Shop
	}
	return p, nil
}

func (a *Authenticator) credential(r *http.Request) (Principal, error) {
	if !a.Enabled() {
		p := Anonymous
		p.CanWrite = a.cfg.AnonymousWrites
		return p, nil
	}
	if key := r.Header.Get("X-API-Key"); key != "" && len(a.cfg.APIKeys) > 0 {
		return a.apiKey(key)
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && a.cfg.JWT {
		return a.jwt(strings.TrimSpace(bearer))
	}
	return Principal{}, ErrUnauthenticated
}

func (a *Authenticator) apiKey(key string) (Principal, error) {
	sum := sha256.Sum256([]byte(key))
	var found *APIKey
	// Compare against every key, in constant time, whatever matches first.
	for i := range a.cfg.APIKeys {
		if subtle.ConstantTimeCompare(sum[:], a.cfg.APIKeys[i].Hash[:]) == 1 {
			found = &a.cfg.APIKeys[i]
		}
	}
	if found == nil {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{Role: found.Role, Subject: "apikey:" + found.Name, CanWrite: found.Write, Shop: found.Shop}, nil
}

func (a *Authenticator) jwt(raw string) (Principal, error) {
	var c claims
	if _, err := a.parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return a.key, nil }); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if c.Subject == "" {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrNoSubject)
	}
	var expires time.Time
	if c.ExpiresAt != nil {
		expires = c.ExpiresAt.Time
	}
	switch {
	case c.Role == RoleMerchant:
		write := slices.Contains(c.Scope, WriteScope) || slices.Contains(c.Scp, WriteScope)
		return Principal{Role: RoleMerchant, Subject: "jwt:" + c.Subject, Expires: expires, CanWrite: write, Shop: c.Shop}, nil
	case c.Role == RoleBuyer && c.Openid != "":
		return Principal{Role: RoleBuyer, Openid: c.Openid, Subject: "jwt:" + c.Subject, Expires: expires, Shop: c.Shop}, nil
	}
	return Principal{}, fmt.Errorf("%w: role %q (buyers need an openid claim)", ErrUnauthenticated, c.Role)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the request's principal. A context that never passed
// authentication holds no principal and sees nothing.
func FromContext(ctx context.Context) Principal {
	p, _ := ctx.Value(ctxKey{}).(Principal)
	return p
}

// ClientKey names the caller of ctx for per-client limits: its
// credential's subject, else addr, its address (an IPv6 one by its /64,
// as the rate limiter counts it), so that every limit sees one client.
func ClientKey(ctx context.Context, addr string) string {
	if s := FromContext(ctx).Subject; s != "" {
		return s
	}
	return "ip:" + httprate.CanonicalizeIP(addr)
}
