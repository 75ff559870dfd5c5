package graph

import (
	"context"
)

// indicatorCodes replaces indicator codes given as aliases (former codes
// of merged indicators, see Indicator.Aliases) by the indicators' own
// codes, so that every argument naming an indicator accepts an alias and
// the answer names the canonical code. Unknown codes are kept for the
// engine to refuse with its own error. The lookup is in memory.
func (r *Resolver) indicatorCodes(ctx context.Context, codes []string) ([]string, error) {
	if len(codes) == 0 {
		return codes, nil
	}
	m, err := r.Engine.Indicators(ctx, codes)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, c := range codes {
		x, ok := m[c]
		if !ok || x.Code == c {
			continue
		}
		if out == nil {
			out = append([]string(nil), codes...)
		}
		out[i] = x.Code
	}
	if out == nil {
		return codes, nil
	}
	return out, nil
}

// indicatorCode is indicatorCodes for one code.
func (r *Resolver) indicatorCode(ctx context.Context, code string) (string, error) {
	cs, err := r.indicatorCodes(ctx, []string{code})
	if err != nil {
		return "", err
	}
	return cs[0], nil
}
