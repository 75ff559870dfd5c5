package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Input already in the served order (what `chiso gen` writes, and a
// sorted export) is not sorted again. The stage is checked in one pass,
// in its insertion order, for keys strictly increasing in the served
// order (servedOrderSQL): then no canonical group has two rows, and the
// stage's order is the order a sort would give. The table is built in
// that order without sorting, and checked once more, in one pass over
// the built table, for ids and keys both increasing along it, which is
// what the point index, the level pruning and the pages rely on; if
// DuckDB did not keep the order through the build, the table is sorted
// after all. Anything else is sorted as before.

// stageOutOfOrderSQL counts the staged rows whose key is not strictly
// after the previous row's, in insertion order (lag over an empty window
// streams in that order under preserve_insertion_order).
var stageOutOfOrderSQL = `SELECT count(*) FROM (
	SELECT k, lag(k) OVER () AS prev FROM (
		SELECT (st.indicator, u.level_rank::UTINYINT, st.unit, p.period_start, p.period_end, st.period, st.kind, ` + basisSQL + `) AS k
		FROM stage_obs st JOIN periods p ON p.label = st.period JOIN units u ON u.code = st.unit))
	WHERE prev IS NOT NULL AND NOT k > prev`

// inOrderSQL builds the served table in the stage's order: each row's id
// is its position in the stage (rowid + 1), so the rows are computed in
// parallel and no window numbers them; insertion-order preservation keeps
// them in that order in the table.
var inOrderSQL = `CREATE TABLE observations AS
	WITH s AS (` + strings.Replace(stageJoinSQL, "SELECT st.*,", "SELECT st.rowid AS _rid, st.*,", 1) + `)
	SELECT _rid + 1 AS id, ` + servedColumnsSQL + ` FROM s ORDER BY _rid`

// servedOutOfOrderSQL counts the rows of the built table, in its stored
// order, whose id is not the previous one's plus one or whose key is not
// strictly after the previous one's.
const servedOutOfOrderSQL = `SELECT count(*) FROM (
	SELECT id, lag(id) OVER () AS prev_id, k, lag(k) OVER () AS prev FROM (
		SELECT id, (` + servedOrderSQL + `) AS k FROM observations))
	WHERE prev_id IS NOT NULL AND NOT (id = prev_id + 1 AND k > prev)`

// buildInOrder builds the served table without sorting when the stage is
// already in the served order; false (and no table) when it is not.
func (b *Build) buildInOrder(ctx context.Context) (bool, error) {
	count := func(q string) (int64, error) {
		var n int64
		if err := b.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return 0, fmt.Errorf("store: check order: %w", err)
		}
		return n, nil
	}
	if err := b.preserveOrder(ctx, true); err != nil {
		return false, err
	}
	defer b.preserveOrder(ctx, false)
	t0 := time.Now()
	n, err := count(stageOutOfOrderSQL)
	b.s.log.Debug("load order: stage checked", "elapsed", time.Since(t0).Round(time.Millisecond))
	if err != nil || n > 0 {
		b.s.log.Debug("load order", "rows out of order", n)
		return false, err
	}
	t0 = time.Now()
	if _, err := b.db.ExecContext(ctx, inOrderSQL); err != nil {
		return false, fmt.Errorf("store: finish: %w", err)
	}
	b.s.log.Debug("load order: built in order", "elapsed", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	defer func() { b.s.log.Debug("load order: table checked", "elapsed", time.Since(t0).Round(time.Millisecond)) }()
	if n, err = count(servedOutOfOrderSQL); err != nil || n > 0 {
		b.s.log.Warn("load: the table built in input order is not in order; sorting it", "rows out of order", n)
		if _, derr := b.db.ExecContext(ctx, `DROP TABLE observations`); derr != nil && err == nil {
			err = derr
		}
		return false, err
	}
	return true, nil
}

// preserveOrder switches DuckDB's insertion-order preservation (a global
// setting) for the build: on while the stage is written and read in its
// order, off for the parallel sort.
func (b *Build) preserveOrder(ctx context.Context, on bool) error {
	if _, err := b.db.ExecContext(ctx, fmt.Sprintf("SET preserve_insertion_order = %t", on)); err != nil {
		return fmt.Errorf("store: settings: %w", err)
	}
	return nil
}
