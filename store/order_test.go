package store_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/loader"
	"chiso/store"
	"chiso/synth"
)

// syncBuffer is a log destination safe for the store's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInOrderLoad loads what `chiso gen` writes (rows in the served
// order) as Parquet and as CSV, and the same CSV with its rows reversed:
// the first two are taken in their order without sorting (the log says
// in_order=true), the reversed one is sorted, and all three serve the
// same table, row for row and id for id. A stage that is in order except
// for one pair of rows is sorted too.
func TestInOrderLoad(t *testing.T) {
	ctx := context.Background()
	spec, err := synth.Size("XS")
	require.NoError(t, err)
	root := t.TempDir()
	pq, csv := filepath.Join(root, "parquet"), filepath.Join(root, "csv")
	_, err = synth.Write(ctx, pq, spec, synth.Parquet)
	require.NoError(t, err)
	_, err = synth.Write(ctx, csv, spec, synth.CSV)
	require.NoError(t, err)
	// The same CSV with its data rows reversed, and with one pair swapped.
	data, err := os.ReadFile(filepath.Join(csv, "observations.csv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Greater(t, len(lines), 1000)
	variant := func(name string, rows []string) string {
		dir := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for _, f := range []string{"sources.csv", "units.csv", "indicators.csv"} {
			b, err := os.ReadFile(filepath.Join(csv, f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
		}
		text := lines[0] + "\n" + strings.Join(rows, "\n") + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "observations.csv"), []byte(text), 0o644))
		return dir
	}
	reversed := slices.Clone(lines[1:])
	slices.Reverse(reversed)
	swapped := slices.Clone(lines[1:])
	swapped[500], swapped[501] = swapped[501], swapped[500]

	table := func(dir string) (string, string) {
		var logs syncBuffer
		st := store.New(store.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		defer st.Close()
		_, err := loader.New(st, loader.Options{}).Load(ctx, loader.OSDir(dir))
		require.NoError(t, err)
		rows, err := st.RawQuery(ctx, `SELECT * FROM observations ORDER BY id`)
		require.NoError(t, err)
		require.Len(t, rows, len(lines)-1)
		return fmt.Sprint(rows), logs.String()
	}
	want, log := table(pq)
	require.Contains(t, log, "in_order=true", "gen's Parquet is in the served order")
	for name, dir := range map[string]string{"csv": csv, "reversed": variant("reversed", reversed), "swapped": variant("swapped", swapped)} {
		got, log := table(dir)
		require.Equal(t, want, got, "%s: the served table", name)
		require.Contains(t, log, fmt.Sprintf("in_order=%v", name == "csv"), name)
	}
}
