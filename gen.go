package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"chiso/config"
	"chiso/synth"
)

// genCmd writes a synthetic dataset with the shape of Việt Nam (see
// package synth): a named size, optionally reshaped by flags.
func genCmd(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := config.ParseGen(args, synth.SizeNames, out)
	if err != nil {
		return err
	}
	spec, err := synth.Size(cfg.Size)
	if err != nil {
		return err
	}
	// Only the flags given change the size's spec, so 0 can be asked for.
	for _, o := range []struct {
		flag *int
		spec *int
	}{
		{cfg.Provinces, &spec.Provinces}, {cfg.Districts, &spec.Districts}, {cfg.Communes, &spec.Communes},
		{cfg.Indicators, &spec.Indicators}, {cfg.From, &spec.FirstYear}, {cfg.To, &spec.LastYear},
	} {
		if o.flag != nil {
			*o.spec = *o.flag
		}
	}
	// A tree reshaped by flags is invented (the register has one shape).
	if cfg.Provinces != nil || cfg.Districts != nil || cfg.Communes != nil {
		spec.Register = false
	}
	if cfg.Seed != nil {
		spec.Seed = *cfg.Seed
	}
	if cfg.GapRate != nil {
		spec.GapRate = *cfg.GapRate
	}
	if cfg.TargetShare != nil {
		spec.TargetShare = *cfg.TargetShare
	}
	dir := cfg.Out
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("chiso-synth-%s-%s", strings.ToUpper(cfg.Size), cfg.Format))
	}
	want := spec.Counts()
	tree := "invented tree"
	if spec.Register {
		tree = "the register's tree of " + synth.RegisterDay
	}
	fmt.Fprintf(out, "generating %s: seed %d, %s, %d provinces, %d districts, %d communes, %d indicators, %d–%d, gap rate %g, target share %g: %d observations\n",
		dir, spec.Seed, tree, spec.Provinces, spec.Districts, spec.Communes, spec.Indicators, spec.FirstYear, spec.LastYear, spec.GapRate, spec.TargetShare, want.Observations)
	st, err := synth.Write(ctx, dir, spec, synth.Format(cfg.Format))
	if err != nil {
		return err
	}
	for _, f := range st.Files {
		fmt.Fprintf(out, "  %-22s %12d rows %14d bytes\n", f.Name, f.Rows, f.Bytes)
	}
	fmt.Fprintf(out, "wrote %d observations (%d targets), %d units, %d indicators, %d sources: %d bytes in %s\n",
		st.Observations, st.Targets, st.Units, st.Indicators, st.Sources, st.Bytes, st.Elapsed.Round(time.Millisecond))
	return nil
}
