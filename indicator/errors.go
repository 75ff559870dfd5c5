package indicator

import (
	"context"
	"errors"
	"fmt"
)

// Error kinds. Every error that crosses a package boundary wraps one of
// these (with %w and an operation prefix) so the API can map it to a code.
var (
	ErrNotFound    = errors.New("not found")
	ErrInvalid     = errors.New("invalid argument")
	ErrTooLarge    = errors.New("too large")
	ErrTimeout     = errors.New("timeout")
	ErrUnavailable = errors.New("unavailable")
)

// Code is the API error code of an error kind.
type Code string

const (
	CodeNotFound        Code = "NOT_FOUND"
	CodeInvalidArgument Code = "INVALID_ARGUMENT"
	CodeTooLarge        Code = "TOO_LARGE"
	CodeTimeout         Code = "TIMEOUT"
	CodeUnavailable     Code = "UNAVAILABLE"
	CodeInternal        Code = "INTERNAL"
)

// CodeOf classifies err. Errors of no known kind are INTERNAL: their
// message is for logs, never for clients.
func CodeOf(err error) Code {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return CodeNotFound
	case errors.Is(err, ErrInvalid):
		return CodeInvalidArgument
	case errors.Is(err, ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.Canceled):
		return CodeUnavailable
	}
	return CodeInternal
}

// ArgError reports a bad value for a named argument of a query.
type ArgError struct {
	Arg    string // argument path, e.g. "filter.periodFrom"
	Reason string
	Kind   error // ErrInvalid when nil; ErrNotFound for an unknown code
}

func (e *ArgError) Error() string { return fmt.Sprintf("argument %s: %s", e.Arg, e.Reason) }

// Unwrap gives the error's kind: ErrInvalid unless Kind says otherwise.
func (e *ArgError) Unwrap() error {
	if e.Kind != nil {
		return e.Kind
	}
	return ErrInvalid
}

// Invalidf returns an ArgError for argument arg.
func Invalidf(arg, format string, a ...any) error {
	return &ArgError{Arg: arg, Reason: fmt.Sprintf(format, a...)}
}

// kindError is an error of a kind whose message is written for clients.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// Errorf returns an error of kind (ErrNotFound, ErrInvalid …) whose message
// is exactly the formatted text, with no kind suffix.
func Errorf(kind error, format string, a ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, a...)}
}
