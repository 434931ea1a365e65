package wechat

import (
	"errors"

	"github.com/ordergraph/ordergraph/internal/codes"
	"github.com/ordergraph/ordergraph/internal/order"
)

// Errcodes with a meaning for every API, from WeChat's global return-code
// list. Family packages name the errcodes of their own endpoints in an
// Errcodes table of their own.
const (
	errSystemBusy        = -1
	errInvalidCredential = 40001 // access token invalid or not the latest
	errBadAppID          = 40013
	errInvalidToken      = 40014
	errBadSecret         = 40125
	errIPNotAllowed      = 40164
	errTokenExpired      = 42001
	errDailyQuota        = 45009
	errMinuteQuota       = 45011
	errFrequencyLimit    = 30000
	errNoPermission      = 48001
	errAPIOffline        = 1400007
)

// Meaning is what an errcode tells the client: a code and a message that is
// safe to show.
type Meaning struct {
	Code    codes.Code
	Message string
}

// Errcodes maps the errcodes of a family's endpoints to their meaning.
type Errcodes map[int64]Meaning

// shared holds the errcodes every WeChat API answers with.
var shared = Errcodes{
	errSystemBusy:        {codes.UpstreamUnavailable, "upstream system busy"},
	errInvalidCredential: {codes.UpstreamAuthFailed, "upstream rejected the access token"},
	errInvalidToken:      {codes.UpstreamAuthFailed, "upstream rejected the access token"},
	errTokenExpired:      {codes.UpstreamAuthFailed, "upstream rejected the access token"},
	errDailyQuota:        {codes.UpstreamRateLimited, "upstream daily call quota exhausted"},
	errMinuteQuota:       {codes.UpstreamRateLimited, "upstream per-minute call quota exhausted"},
	errFrequencyLimit:    {codes.UpstreamRateLimited, "upstream call frequency limit reached"},
	errNoPermission:      {codes.UpstreamPermissionDenied, "the app has no permission for this API; enable it in the WeChat admin console"},
	errAPIOffline:        {codes.UpstreamUnavailable, "upstream API has been taken offline"},
}

// errorFor is the coded error for a non-zero errcode: the family's meaning,
// else the shared one, else an unavailable upstream.
func (family Errcodes) errorFor(errcode int64) *order.Error {
	m, ok := family[errcode]
	if !ok {
		if m, ok = shared[errcode]; !ok {
			m = Meaning{codes.UpstreamUnavailable, "upstream failed"}
		}
	}
	return &order.Error{Code: m.Code, Message: m.Message, Errcode: &errcode}
}

// tokenRejected reports whether errcode means the access token itself was
// refused, so a fresh token and one retry may succeed.
func tokenRejected(errcode int64) bool {
	return errcode == errInvalidCredential || errcode == errInvalidToken || errcode == errTokenExpired
}

// tokenError maps a non-zero errcode of /cgi-bin/stable_token. Its messages
// tell an operator what to fix, since no client can.
func tokenError(errcode int64) *order.Error {
	msg := "access token could not be obtained"
	switch errcode {
	case errBadAppID:
		msg += ": WECHAT_APP_ID is not a valid app id"
	case errBadSecret:
		msg += ": WECHAT_APP_SECRET is wrong for this app id"
	case errIPNotAllowed:
		msg += ": this server's IP address is not on the app's API allow list"
	case errSystemBusy:
		return &order.Error{Code: codes.UpstreamUnavailable, Message: "token endpoint busy", Errcode: &errcode}
	case errFrequencyLimit, errDailyQuota, errMinuteQuota:
		msg += ": the token endpoint's call limit was reached"
	}
	return &order.Error{Code: codes.UpstreamAuthFailed, Message: msg, Errcode: &errcode}
}

// withErrmsg keeps the upstream's errmsg (it carries a request id WeChat
// support asks for) as the cause, which reaches logs but never clients.
func withErrmsg(e *order.Error, errmsg string) *order.Error {
	if errmsg != "" {
		e.Cause = errors.New("upstream errmsg: " + errmsg)
	}
	return e
}
