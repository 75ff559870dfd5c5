package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"chiso/config"
	"chiso/datasets"
	"chiso/loader"
	"chiso/store"
)

// verifyCmd checks a curated dataset: it must load with no errors, and
// every figure must be found as written on its cited source line and parse
// to its value, and every rollup rule's measure units must fit (see
// datasets.Verify).
func verifyCmd(args []string, env config.Env, out io.Writer) error {
	cfg, err := config.ParseVerify(args, env, out)
	if err != nil {
		return err
	}
	dir := loader.Dir{Name: "embedded:laichau", FS: datasets.LaiChau()}
	folders := map[string]fs.FS{"laichau": datasets.LaiChau(), "vietnam": datasets.Vietnam()}
	dirs := []loader.Dir{dir, {Name: "embedded:vietnam", FS: datasets.Vietnam()}}
	if cfg.Data != "" {
		dir = loader.OSDir(cfg.Data)
		folders, dirs = map[string]fs.FS{cfg.Data: dir.FS}, []loader.Dir{dir}
	}
	st := store.New(store.Options{})
	defer st.Close()
	info, loadErr := loader.New(st, loader.Options{}).Load(context.Background(), dirs...)
	if loadErr != nil {
		// The file checks below still run: they say more about a dataset
		// the loader refuses (how many rules have incompatible units …).
		fmt.Fprintf(out, "load: %v\n", loadErr)
	} else {
		fmt.Fprintf(out, "load: ok (%d sources, %d units, %d indicators, %d observations)\n", info.Sources, info.Units, info.Indicators, info.Observations)
	}
	var srcFS fs.FS
	if st, err := os.Stat(cfg.Seeds); err == nil && st.IsDir() {
		srcFS = os.DirFS(cfg.Seeds)
	} else {
		fmt.Fprintf(out, "sources: %s not found: SKIPPING the check that each raw figure is on its cited line\n", cfg.Seeds)
	}
	rep, err := datasets.Verify(dir.FS, srcFS)
	if err != nil {
		return err
	}
	for id, n := range rep.PerSource {
		fmt.Fprintf(out, "source %s: %d observations\n", id, n)
	}
	if rep.SourcesChecked {
		fmt.Fprintf(out, "raw-on-line: %d of %d observations found on their cited line\n", rep.RawChecked, rep.Observations)
	}
	fmt.Fprintf(out, "breakdowns compared with their totals: %d\n", rep.Breakdowns)
	fmt.Fprintf(out, "RATIO / WEIGHTED_MEAN rules with incompatible dimensions: %d of %d\n", rep.IncompatibleRules, rep.DimensionRules)
	fmt.Fprintf(out, "indicator aliases resolving to one indicator each: %d\n", rep.Aliases)
	if rep.ReadmeChecked {
		fmt.Fprintf(out, "README/data disagreements: %d (%d listed items of flagged figures)\n", rep.ReadmeDisagreements, rep.ReadmeItems)
	} else {
		fmt.Fprintln(out, "README.md not found: SKIPPING the check that its lists of flagged figures match the data")
	}
	problems := rep.Problems
	if st, err := os.Stat(cfg.Sources); err == nil && st.IsDir() {
		urep, err := datasets.VerifyUnits(folders, os.DirFS(cfg.Sources))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "unit locators: %d of %d units citing a source found where cited; %d of %d unit changes\n",
			urep.UnitsChecked, urep.Units, urep.ChangesChecked, urep.Changes)
		problems = append(problems, urep.Problems...)
	} else {
		fmt.Fprintf(out, "sources: %s not found: SKIPPING the check that units and unit changes are where their locators say\n", cfg.Sources)
	}
	for _, p := range problems {
		fmt.Fprintln(out, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("verify: %d problems", len(problems))
	}
	if loadErr != nil {
		return fmt.Errorf("verify: the dataset does not load: %w", loadErr)
	}
	fmt.Fprintln(out, "verify: ok")
	return nil
}
