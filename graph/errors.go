package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"chiso/indicator"
)

// tooLarge is a request over a configured limit.
type tooLarge struct {
	arg      string
	max, got int
}

func (e *tooLarge) Error() string {
	return fmt.Sprintf("argument %s: %d is over the limit of %d", e.arg, e.got, e.max)
}
func (e *tooLarge) Unwrap() error { return indicator.ErrTooLarge }

// notFound reports an unknown code given in argument arg.
func notFound(arg, what, code string) error {
	return &indicator.ArgError{Arg: arg, Reason: fmt.Sprintf("no %s with code %q", what, code), Kind: indicator.ErrNotFound}
}

// ErrorPresenter maps every resolver error to a GraphQL error whose
// extensions.code is its kind. Messages of known kinds are written for
// clients and shown; anything else is logged and shown as "internal
// error" so internals never leak.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Extensions["code"] != nil && errors.Unwrap(ge) == nil {
			if n, ok := strings.CutPrefix(ge.Message, "exceeded token limit of "); ok {
				gerr.Message = "query: more tokens than the limit of " + n + " (names, punctuation and values; see -max-tokens): send fewer fields or aliases, or pass long lists as variables"
				gerr.Extensions = map[string]any{"code": string(indicator.CodeTooLarge)}
			}
			return gerr // parse/validation errors from gqlgen keep their codes
		}
		if gerr.Message == "introspection disabled" { // gqlgen's, when -introspection=false
			gerr.Extensions = map[string]any{"code": "INTROSPECTION_DISABLED"}
			gerr.Message = "introspection is turned off on this server (-introspection=false)"
			return gerr
		}
		code := indicator.CodeOf(err)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["code"] = string(code)
		var arg *indicator.ArgError
		var big *tooLarge
		switch {
		case errors.As(err, &arg):
			gerr.Extensions["argument"] = arg.Arg
		case errors.As(err, &big):
			gerr.Extensions["argument"] = big.arg
		}
		switch code {
		case indicator.CodeInternal:
			log.ErrorContext(ctx, "internal error", "path", gerr.Path.String(), "err", err)
			gerr.Message = "internal error"
		case indicator.CodeTimeout:
			gerr.Message = "the request took longer than its time limit and was stopped"
		case indicator.CodeUnavailable:
			gerr.Message = "the request was cancelled or no dataset is loaded"
		default:
			gerr.Message = clientMessage(err)
		}
		return gerr
	}
}

// clientMessage is the message of the error a resolver returned, without
// the position gqlgen adds (the response carries locations and path).
func clientMessage(err error) string {
	var ge *gqlerror.Error
	if errors.As(err, &ge) && ge.Unwrap() != nil {
		err = ge.Unwrap()
	}
	return err.Error()
}
