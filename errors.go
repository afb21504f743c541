// Package runbooker holds the domain types of Runbooker and the service
// interfaces between its parts. It imports only the standard library: SQL,
// HTTP and process execution live in their own packages.
package runbooker

import (
	"errors"
	"fmt"
)

// Error codes. Each boundary (HTTP, CLI) translates these once, through one
// table, into its own vocabulary.
const (
	ECONFLICT     = "conflict"     // state does not allow the change (e.g. fenced attempt)
	EINTERNAL     = "internal"     // a bug or an unexpected failure; text never shown to clients
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // no such object in this tenant
	EUNAUTHORIZED = "unauthorized" // no or wrong credentials
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	EUNAVAILABLE  = "unavailable"  // a dependency (database) is down; try again
	ETOOMANY      = "too_many"     // throttled (failed sign-ins, registrations); try again later
)

// Error is an application error whose Message is safe to show to a client.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("runbooker error: code=%s message=%s", e.Code, e.Message)
}

// Errorf is a helper that returns an *Error with a formatted, client-safe message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode unwraps err to the code of the first *Error in its chain. Errors
// that are not *Error are internal.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic text so implementation details never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
