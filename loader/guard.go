package loader

import (
	"context"
	"fmt"
	"strings"

	"chiso/indicator"
	"chiso/store"
)

// DropError is a reload the guard refused: it would empty a table or
// drop more of its rows than allowed.
type DropError struct {
	Drops   []string // "observations: 1,950 → 0 rows (100% dropped)"
	MaxDrop float64
}

func (e *DropError) Error() string {
	return fmt.Sprintf("reload refused, the served dataset is kept: %s; more than %s of a table's rows (or all of them) would be dropped, which is more often a truncated or header-only file than a new dataset. Check the files, or force the reload (SIGUSR1, or -reload-max-drop 1)",
		strings.Join(e.Drops, "; "), percent(e.MaxDrop))
}

func (e *DropError) Unwrap() error { return indicator.ErrInvalid }

// guard refuses, unless o.Force, a build that empties a table the served
// snapshot has rows in, or drops more than MaxDrop of them. A first load
// (nothing served yet) is never refused.
func (l *Loader) guard(ctx context.Context, o LoadOptions, b *store.Build, srcs, units, inds int) error {
	if !l.opts.Guard || o.Force {
		return nil
	}
	cur, err := l.st.Dataset(ctx)
	if err != nil {
		return nil // nothing served: nothing to lose
	}
	obs, err := b.Observations(ctx)
	if err != nil {
		return err
	}
	e := &DropError{MaxDrop: l.opts.MaxDrop}
	for _, t := range []struct {
		name     string
		old, new int
	}{{"sources", cur.Sources, srcs}, {"units", cur.Units, units}, {"indicators", cur.Indicators, inds}, {"observations", cur.Observations, obs}} {
		if t.old == 0 || t.new >= t.old {
			continue
		}
		drop := float64(t.old-t.new) / float64(t.old)
		if t.new == 0 || drop > l.opts.MaxDrop {
			e.Drops = append(e.Drops, fmt.Sprintf("%s: %d → %d rows (%s dropped)", t.name, t.old, t.new, percent(drop)))
		}
	}
	if len(e.Drops) > 0 {
		l.log.Warn("reload refused", "err", e.Error())
		return e
	}
	return nil
}

func percent(x float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", 100*x), "0"), ".") + "%"
}
