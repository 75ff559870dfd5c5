package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"chiso/indicator"
)

// QueryLimits bound an operation before it runs, and its answer.
type QueryLimits struct {
	MaxDepth         int // nesting of fields, introspection excluded
	MaxCost          int // the budget: estimated work (see the cost model in cost.go)
	MaxRootFields    int // fields at the root, aliases and fragments expanded
	MaxAliases       int // aliased fields anywhere, fragments expanded
	MaxResponseBytes int // bytes of an answer's data
}

// DefaultQueryLimits are used when none are configured.
var DefaultQueryLimits = QueryLimits{MaxDepth: 15, MaxCost: 500_000, MaxRootFields: 50, MaxAliases: 200, MaxResponseBytes: 16 << 20}

// Ticket is a request's cost as the limits found it, and the admission
// that lets it run. The HTTP layer puts one in the request's context
// (WithTicket) and releases what Admit took when the answer is written.
type Ticket struct {
	Cost     Cost
	Measured bool // Cost is known: the operation was parsed and valid
	// Admit, when set, is asked before the operation runs; an error
	// refuses it.
	Admit func(ctx context.Context, cost int) error
}

type ticketKey struct{}

// WithTicket returns ctx carrying t.
func WithTicket(ctx context.Context, t *Ticket) context.Context {
	return context.WithValue(ctx, ticketKey{}, t)
}

// TicketOf is the Ticket of ctx, or nil.
func TicketOf(ctx context.Context) *Ticket {
	t, _ := ctx.Value(ticketKey{}).(*Ticket)
	return t
}

// limitsExtension refuses operations over the limits with
// extensions.code TOO_LARGE before anything runs, reports the cost in
// extensions.cost when the request's extensions ask for it
// ({"cost": true}), and refuses answers over MaxResponseBytes.
type limitsExtension struct {
	limits QueryLimits
	eng    indicator.Engine
	page   Limits
}

// NewLimits returns the gqlgen extension enforcing l, reading catalog
// sizes from eng; page gives the page size of a connection without
// `first`.
func NewLimits(l QueryLimits, eng indicator.Engine, page Limits) graphql.HandlerExtension {
	return &limitsExtension{limits: l, eng: eng, page: page}
}

func (e *limitsExtension) ExtensionName() string { return "chiso.Limits" }

func (e *limitsExtension) Validate(graphql.ExecutableSchema) error { return nil }

// Measure is the Cost of op with vars.
func (e *limitsExtension) Measure(ctx context.Context, op *ast.OperationDefinition, vars map[string]any) Cost {
	w := &costWalk{sizes: sizes{ctx: ctx, eng: e.eng}, vars: vars, frags: map[string]*Cost{}, pageSize: e.pageSize}
	return w.measure(op)
}

func (e *limitsExtension) pageSize(first any) int {
	n, ok := first.(int64)
	switch {
	case !ok:
		if i, isInt := first.(int); isInt {
			return max(min(i, e.page.MaxPageSize), 1)
		}
		return max(e.page.DefaultPageSize, 1)
	case n < 1:
		return 1
	default:
		return int(min(n, int64(max(e.page.MaxPageSize, 1))))
	}
}

func (e *limitsExtension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	if op == nil {
		return nil
	}
	if err := intOutOfRange(op, oc.Variables); err != nil {
		return err
	}
	c := e.Measure(ctx, op, oc.Variables)
	t := TicketOf(ctx)
	if t != nil {
		t.Cost, t.Measured = c, true
	}
	l := e.limits
	switch {
	case l.MaxRootFields > 0 && c.RootFields > l.MaxRootFields:
		return tooLargeError(fmt.Sprintf("operation has %d root fields, over the limit of %d: split it into several requests", c.RootFields, l.MaxRootFields))
	case l.MaxAliases > 0 && c.Aliases > l.MaxAliases:
		return tooLargeError(fmt.Sprintf("operation has %d aliased fields, over the limit of %d", c.Aliases, l.MaxAliases))
	case l.MaxDepth > 0 && c.Depth > l.MaxDepth:
		return tooLargeError(fmt.Sprintf("operation is nested %d levels deep, over the limit of %d", c.Depth, l.MaxDepth))
	case l.MaxCost > 0 && c.Cost > l.MaxCost:
		return tooLargeError(fmt.Sprintf("operation costs %d, over the limit of %d: ask for fewer units, indicators or periods, smaller pages or fewer nested lists (README, Costs and limits)", c.Cost, l.MaxCost))
	}
	if t != nil && t.Admit != nil {
		if err := t.Admit(ctx, c.Cost); err != nil {
			return &gqlerror.Error{Message: err.Error(), Extensions: map[string]any{"code": string(indicator.CodeOf(err))}}
		}
	}
	return nil
}

// InterceptResponse refuses an answer over MaxResponseBytes and adds the
// cost when asked.
func (e *limitsExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	if max := e.limits.MaxResponseBytes; max > 0 && len(resp.Data) > max {
		resp = &graphql.Response{Errors: gqlerror.List{tooLargeError(fmt.Sprintf("the answer is %d bytes, over the limit of %d: ask for fewer fields, rows or aliases", len(resp.Data), max))}}
	}
	if oc := graphql.GetOperationContext(ctx); oc != nil && oc.Extensions["cost"] == true {
		if t := TicketOf(ctx); t != nil && t.Measured {
			if resp.Extensions == nil {
				resp.Extensions = map[string]any{}
			}
			resp.Extensions["cost"] = map[string]int{"cost": t.Cost.Cost, "limit": e.limits.MaxCost,
				"depth": t.Cost.Depth, "rootFields": t.Cost.RootFields, "aliases": t.Cost.Aliases}
		}
	}
	return resp
}

func tooLargeError(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(indicator.CodeTooLarge)}}
}
