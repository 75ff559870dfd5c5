package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"chiso/loader"
	"chiso/store"
	"chiso/synth"
)

// TestGenLoads: an XS dataset, written by `chiso gen` as CSV and as
// Parquet, loads with the real loader with no problem and every row.
func TestGenLoads(t *testing.T) {
	spec, err := synth.Size("XS")
	require.NoError(t, err)
	want := spec.Counts()
	for _, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "xs")
			var out bytes.Buffer
			require.NoError(t, genCmd(context.Background(), []string{"-size", "XS", "-out", dir, "-format", format}, &out))
			require.Contains(t, out.String(), "observations."+format)
			st := store.New(store.Options{})
			defer st.Close()
			info, err := loader.New(st, loader.Options{}).Load(context.Background(), loader.OSDir(dir))
			require.NoError(t, err)
			require.Equal(t, int(want.Observations), info.Observations)
			require.Equal(t, int(want.Units), info.Units)
			require.Equal(t, int(want.Indicators), info.Indicators)
			require.Equal(t, int(want.Sources), info.Sources)
		})
	}
}

// TestGenFlags: flags reshape the named size, and only the flags given.
func TestGenFlags(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, genCmd(context.Background(), []string{"-size", "xs", "-out", dir, "-format", "csv",
		"-provinces", "2", "-districts", "4", "-communes", "9", "-indicators", "15", "-from", "2020", "-to", "2021", "-gap-rate", "0", "-seed", "3"}, &out))
	// 15 indicators × 2 years × 15 units, plus round(1.5) = 2 target indicators × 6 units.
	require.Contains(t, out.String(), "wrote 462 observations (12 targets), 16 units, 15 indicators, 3 sources")
	require.Error(t, genCmd(context.Background(), []string{"-size", "XXL"}, &out))
	require.Error(t, genCmd(context.Background(), []string{"-size", "XS", "-out", dir, "-format", "json"}, &out))
	require.Error(t, genCmd(context.Background(), []string{"-size", "XS", "-out", dir, "-communes", "1"}, &out))
}

// TestGenRegisterLoads: size S's tree is the register's, and a dataset on
// it (one indicator, one year) loads with the real loader: 1 + 63 + 696 +
// 10,047 = 10,807 units, 63 + 696 + 10,047 − round(0.05 × 10,047) = 10,304
// observations.
func TestGenRegisterLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	var out bytes.Buffer
	require.NoError(t, genCmd(context.Background(), []string{"-size", "S", "-out", dir, "-indicators", "1", "-from", "2024", "-to", "2024"}, &out))
	require.Contains(t, out.String(), "the register's tree of 2025-03-01, 63 provinces, 696 districts, 10047 communes")
	st := store.New(store.Options{})
	defer st.Close()
	info, err := loader.New(st, loader.Options{}).Load(context.Background(), loader.OSDir(dir))
	require.NoError(t, err)
	require.Equal(t, 10807, info.Units)
	require.Equal(t, 10304, info.Observations)
}
