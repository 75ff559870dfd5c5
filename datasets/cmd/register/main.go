// Command register regenerates datasets/vietnam/units.csv,
// datasets/vietnam/unit_changes.csv and the official columns of
// datasets/laichau/units.csv from the administrative sources:
//
//	go run ./datasets/cmd/register -sources ../shared/sources -datasets datasets
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"chiso/datasets/register"
)

func main() {
	src := flag.String("sources", "../shared/sources", "folder of the administrative sources (gso-units-20250301.json, 1670_NQ-UBTVQH15.md, 1027_CTK-CSCL.md, 915_CTK-CSCL.csv)")
	dir := flag.String("datasets", "datasets", "the datasets folder to write into")
	flag.Parse()
	if err := run(*src, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "register:", err)
		os.Exit(1)
	}
}

func run(src, dir string) error {
	lc, err := os.ReadFile(filepath.Join(dir, "laichau", "units.csv"))
	if err != nil {
		return err
	}
	res, err := register.Convert(os.DirFS(src), lc)
	if err != nil {
		return err
	}
	return res.Write(func(name string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	})
}
