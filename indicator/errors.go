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
}

func (e *ArgError) Error() string { return fmt.Sprintf("argument %s: %s", e.Arg, e.Reason) }

// Unwrap makes every ArgError an ErrInvalid.
func (e *ArgError) Unwrap() error { return ErrInvalid }

// Invalidf returns an ArgError for argument arg.
func Invalidf(arg, format string, a ...any) error {
	return &ArgError{Arg: arg, Reason: fmt.Sprintf(format, a...)}
}
