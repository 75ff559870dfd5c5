package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLayering enforces the dependency direction of DESIGN.md:
// server → graph → indicator ← store ← loader. Only store talks to DuckDB,
// indicator uses the standard library only, and graph never sees store,
// loader or the driver.
func TestLayering(t *testing.T) {
	const duck = "github.com/duckdb/duckdb-go"
	rules := map[string]func(imp string) bool{
		"indicator": func(imp string) bool {
			return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, "chiso/")
		},
		"graph": func(imp string) bool {
			return !strings.HasPrefix(imp, duck) && imp != "chiso/store" && imp != "chiso/loader" && imp != "database/sql"
		},
		"store":  func(imp string) bool { return imp != "chiso/graph" && imp != "chiso/loader" },
		"loader": func(imp string) bool { return !strings.HasPrefix(imp, duck) && imp != "chiso/graph" },
		"datasets": func(imp string) bool {
			return !strings.HasPrefix(imp, duck) && imp != "chiso/store" && imp != "chiso/graph"
		},
		".": func(imp string) bool { return !strings.HasPrefix(imp, duck) },
	}
	for dir, allowed := range rules {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				require.True(t, allowed(path), "%s imports %s, which its layer may not", f, path)
			}
		}
	}
}
