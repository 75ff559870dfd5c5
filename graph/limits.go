package graph

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"chiso/graph/model"
	"chiso/indicator"
)

// QueryLimits bound the shape of an operation before it runs.
type QueryLimits struct {
	MaxDepth      int // nesting of fields, introspection excluded
	MaxComplexity int // gqlgen complexity with list fan-out estimates
}

// DefaultQueryLimits are used when none are configured.
var DefaultQueryLimits = QueryLimits{MaxDepth: 15, MaxComplexity: 200_000}

// Fan-out estimates for lists without a page size.
const (
	childrenFanOut    = 20
	descendantsFanOut = 200
)

// Complexity returns the complexity functions of chiso's list fields: a
// connection costs its page size times its nodes, a tree walk its
// estimated fan-out times its elements.
func (r *Resolver) Complexity() ComplexityRoot {
	var c ComplexityRoot
	page := func(first *int) int {
		if first == nil {
			return r.Limits.DefaultPageSize
		}
		if *first < 1 {
			return 1
		}
		return *first
	}
	c.Query.Units = func(child int, _ *model.Level, _, _ *string, first *int, _ *string, _ *time.Time, _ *string) int {
		return 1 + child*page(first)
	}
	c.Query.Indicators = func(child int, _, _, _ *string, first *int, _ *string) int { return 1 + child*page(first) }
	c.Query.Observations = func(child int, _ *model.ObservationFilter, first *int, _ *string) int { return 1 + child*page(first) }
	c.Unit.Children = func(child int, _ *model.Level, _ *time.Time) int { return 1 + child*childrenFanOut }
	c.Unit.Descendants = func(child int, _ *model.Level, _ *time.Time) int { return 1 + child*descendantsFanOut }
	return c
}

// limitsExtension refuses operations deeper or more complex than allowed,
// with extensions.code TOO_LARGE.
type limitsExtension struct {
	limits QueryLimits
	es     graphql.ExecutableSchema
}

// NewLimits returns the gqlgen extension enforcing l.
func NewLimits(l QueryLimits) graphql.HandlerExtension { return &limitsExtension{limits: l} }

func (e *limitsExtension) ExtensionName() string { return "chiso.Limits" }

func (e *limitsExtension) Validate(es graphql.ExecutableSchema) error {
	e.es = es
	return nil
}

func (e *limitsExtension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	if op == nil {
		return nil
	}
	if d := depth(op.SelectionSet, 0); e.limits.MaxDepth > 0 && d > e.limits.MaxDepth {
		return tooLargeError(fmt.Sprintf("operation is nested %d levels deep, over the limit of %d", d, e.limits.MaxDepth))
	}
	if c := complexity.Calculate(ctx, e.es, op, oc.Variables); e.limits.MaxComplexity > 0 && c > e.limits.MaxComplexity {
		return tooLargeError(fmt.Sprintf("operation has complexity %d, over the limit of %d: ask for smaller pages or fewer nested lists", c, e.limits.MaxComplexity))
	}
	return nil
}

func tooLargeError(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(indicator.CodeTooLarge)}}
}

// depth is the deepest field nesting below set; introspection fields
// (__schema, __type) are not counted, so tools can always introspect.
func depth(set ast.SelectionSet, d int) int {
	max := d
	for _, sel := range set {
		var sub ast.SelectionSet
		next := d
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			sub, next = s.SelectionSet, d+1
		case *ast.InlineFragment:
			sub = s.SelectionSet
		case *ast.FragmentSpread:
			if s.Definition != nil {
				sub = s.Definition.SelectionSet
			}
		}
		if x := depth(sub, next); x > max {
			max = x
		}
	}
	return max
}
