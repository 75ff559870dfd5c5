package store

import (
	"context"
	"fmt"
	"time"
)

// LoadFloor measures the floor of a load for the benchmark harness: what
// DuckDB alone takes, in a build with this store's settings (in memory or
// on disk, memory limit, spill folder), to copy a Parquet file of
// observations into a table, and to sort that table by indicator, unit,
// period and kind into a numbered one, each followed by a CHECKPOINT;
// with the rows copied. chiso's load does that much and more (validation,
// levels, canonical flags). The API never calls it.
func (s *Store) LoadFloor(ctx context.Context, parquet string) (rows int64, copied, sorted time.Duration, err error) {
	b, err := s.NewBuild(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	defer b.Close()
	run := func(args []any, qs ...string) (time.Duration, error) {
		start := time.Now()
		for _, q := range qs {
			if _, err := b.db.ExecContext(ctx, q, args...); err != nil {
				return 0, fmt.Errorf("store: load floor: %w", err)
			}
			args = nil
		}
		return time.Since(start), nil
	}
	if copied, err = run([]any{parquet}, `CREATE TABLE floor_copy AS SELECT * FROM read_parquet(?)`, `CHECKPOINT`); err != nil {
		return 0, 0, 0, err
	}
	if err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM floor_copy`).Scan(&rows); err != nil {
		return 0, 0, 0, err
	}
	sorted, err = run(nil, `CREATE TABLE floor_sorted AS SELECT row_number() OVER () AS id, * FROM (
		SELECT * FROM floor_copy ORDER BY indicator, unit, period, kind)`, `CHECKPOINT`)
	return rows, copied, sorted, err
}
