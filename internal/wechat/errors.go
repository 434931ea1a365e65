package wechat

import (
	"errors"

	"github.com/ordergraph/ordergraph/internal/order"
)

// Errcodes with a meaning for callers. The order endpoint's are from its
// vendor doc; the token endpoint's and the global ones from WeChat's global
// return-code list.
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
	errOrderNotFound     = 100002
	errAPIOffline        = 1400007
	errBadParameter      = 9401020
)

// tokenRejected reports whether errcode means the access token itself was
// refused, so a fresh token and one retry may succeed.
func tokenRejected(errcode int64) bool {
	return errcode == errInvalidCredential || errcode == errInvalidToken || errcode == errTokenExpired
}

// orderError maps a non-zero errcode of /product/order/get to a coded error.
func orderError(errcode int64) *order.Error {
	code, msg := order.CodeUnavailable, "upstream failed"
	switch errcode {
	case errOrderNotFound:
		code, msg = order.CodeNotFound, "order not found"
	case errBadParameter:
		code, msg = order.CodeBadInput, "upstream rejected the order id as invalid"
	case errNoPermission:
		code, msg = order.CodePermissionDenied, "the mini program has no permission for the order API; enable it in the WeChat admin console"
	case errDailyQuota:
		code, msg = order.CodeRateLimited, "upstream daily call quota exhausted"
	case errMinuteQuota:
		code, msg = order.CodeRateLimited, "upstream per-minute call quota exhausted"
	case errFrequencyLimit:
		code, msg = order.CodeRateLimited, "upstream call frequency limit reached"
	case errInvalidCredential, errInvalidToken, errTokenExpired:
		code, msg = order.CodeAuthFailed, "upstream rejected the access token"
	case errSystemBusy:
		msg = "upstream system busy"
	case errAPIOffline:
		msg = "upstream API has been taken offline"
	}
	return withErrcode(code, msg, errcode)
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
		return withErrcode(order.CodeUnavailable, "token endpoint busy", errcode)
	case errFrequencyLimit, errDailyQuota, errMinuteQuota:
		msg += ": the token endpoint's call limit was reached"
	}
	return withErrcode(order.CodeAuthFailed, msg, errcode)
}

func withErrcode(code order.Code, msg string, errcode int64) *order.Error {
	return &order.Error{Code: code, Message: msg, Errcode: &errcode}
}

// withErrmsg keeps the upstream's errmsg (it carries a request id WeChat
// support asks for) as the cause, which reaches logs but never clients.
func withErrmsg(e *order.Error, errmsg string) *order.Error {
	if errmsg != "" {
		e.Cause = errors.New("upstream errmsg: " + errmsg)
	}
	return e
}
