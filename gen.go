package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"chiso/synth"
)

// genCmd writes a synthetic dataset with the shape of Việt Nam (see
// package synth): a named size, optionally reshaped by flags.
func genCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chiso gen", flag.ContinueOnError)
	fs.SetOutput(out)
	size := fs.String("size", "S", "named size: "+strings.Join(synth.SizeNames, ", ")+" (about 10 thousand, 1, 10 and 100 million observations)")
	dir := fs.String("out", "", "folder to write into (default: chiso-synth-SIZE-FORMAT in the temporary folder)")
	format := fs.String("format", string(synth.Parquet), "parquet or csv")
	seed := fs.Int64("seed", 0, "random seed (default: the size's, 1)")
	provinces := fs.Int("provinces", 0, "provinces (default: the size's)")
	districts := fs.Int("districts", 0, "districts (default: the size's)")
	communes := fs.Int("communes", 0, "communes (default: the size's)")
	indicators := fs.Int("indicators", 0, "indicators (default: the size's)")
	from := fs.Int("from", 0, "first year (default: the size's)")
	to := fs.Int("to", 0, "last year of actual values; targets are for to+2 (default: the size's)")
	gaps := fs.Float64("gap-rate", 0, "share of communes missing in each indicator and year (default: the size's, 0.05)")
	targets := fs.Float64("target-share", 0, "share of indicators with targets (default: the size's, 0.1)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	spec, err := synth.Size(*size)
	if err != nil {
		return err
	}
	// Only the flags given change the size's spec, so 0 can be asked for.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "seed":
			spec.Seed = *seed
		case "provinces":
			spec.Provinces = *provinces
		case "districts":
			spec.Districts = *districts
		case "communes":
			spec.Communes = *communes
		case "indicators":
			spec.Indicators = *indicators
		case "from":
			spec.FirstYear = *from
		case "to":
			spec.LastYear = *to
		case "gap-rate":
			spec.GapRate = *gaps
		case "target-share":
			spec.TargetShare = *targets
		}
	})
	if *dir == "" {
		*dir = filepath.Join(os.TempDir(), fmt.Sprintf("chiso-synth-%s-%s", strings.ToUpper(*size), *format))
	}
	want := spec.Counts()
	fmt.Fprintf(out, "generating %s: seed %d, %d provinces, %d districts, %d communes, %d indicators, %d–%d, gap rate %g, target share %g: %d observations\n",
		*dir, spec.Seed, spec.Provinces, spec.Districts, spec.Communes, spec.Indicators, spec.FirstYear, spec.LastYear, spec.GapRate, spec.TargetShare, want.Observations)
	st, err := synth.Write(ctx, *dir, spec, synth.Format(*format))
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

// genMain runs genCmd until it finishes or the process is interrupted.
func genMain(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return genCmd(ctx, args, os.Stdout)
}
