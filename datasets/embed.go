// Package datasets embeds chiso's curated datasets so the binary serves
// real data with no files beside it.
package datasets

import (
	"embed"
	"io/fs"
)

//go:embed laichau/*.csv laichau/README.md
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
