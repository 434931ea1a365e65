package order

import (
	"errors"
	"strconv"

	"github.com/ordergraph/ordergraph/internal/codes"
)

// Error is a failure with a code, a message that is safe to show a client,
// the upstream's own error code when it sent one, and the internal cause for
// logs. Message never contains a secret, a URL or a Go error string; Cause
// may, and is only ever logged after redaction.
type Error struct {
	Code    codes.Code
	Message string
	// Errcode is the upstream's errcode, when the failure came with one.
	Errcode *int64
	// Outcome is "UNKNOWN" when the failure leaves it unknown whether a
	// write applied; a retry with the same idempotency key reads back first.
	Outcome string
	Cause   error
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Errcode != nil {
		s += " (errcode " + strconv.FormatInt(*e.Errcode, 10) + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Transient reports whether trying again later may succeed, so that callers
// do not remember the failure (a missing order stays missing; a timeout may not).
func (e *Error) Transient() bool {
	switch e.Code {
	case codes.UpstreamUnavailable, codes.UpstreamRateLimited, codes.UpstreamAuthFailed, codes.Internal:
		return true
	}
	return false
}

// Errorf builds an *Error without an upstream errcode.
func Errorf(code codes.Code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, Cause: cause}
}

// ErrorCode returns the code of err, codes.Internal for an error that carries none.
func ErrorCode(err error) codes.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return codes.Internal
}

// IsCode reports whether err is an *Error of code.
func IsCode(err error, code codes.Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
