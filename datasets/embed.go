// Package datasets embeds chiso's curated datasets so the binary serves
// real data with no files beside it.
package datasets

import (
	"embed"
	"io/fs"
)

//go:embed laichau/*.csv laichau/README.md vietnam/*.csv vietnam/README.md
var files embed.FS

// LaiChau is the Lai Châu dataset: sources, units, indicators and
// observations extracted from five government documents, with provenance.
func LaiChau() fs.FS {
	sub, err := fs.Sub(files, "laichau")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Vietnam is the administrative tree of Việt Nam from the Statistics
// Office's register (2025-03-01) and the 2025 reform's codes, with Lai
// Châu's unit changes. It is loaded together with LaiChau, which holds
// the country, Lai Châu and the units its figures are about.
func Vietnam() fs.FS {
	sub, err := fs.Sub(files, "vietnam")
	if err != nil {
		panic(err)
	}
	return sub
}
