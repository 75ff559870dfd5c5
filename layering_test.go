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
// server → graph → indicator ← engine ← store ← loader. Only store talks
// to DuckDB, indicator and config use the standard library only, engine
// only indicator besides (it computes over rows and never sees SQL), graph never sees
// store, loader or the driver, and of the packages around them only the
// composition root (this package: main.go, server.go) imports store.
func TestLayering(t *testing.T) {
	const duck = "github.com/duckdb/duckdb-go"
	std := func(imp string) bool {
		return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, "chiso/")
	}
	noStore := func(imp string) bool {
		return !strings.HasPrefix(imp, duck) && imp != "chiso/store" && imp != "database/sql"
	}
	rules := map[string]func(imp string) bool{
		"indicator": std,
		"config":    std,
		"engine":    func(imp string) bool { return std(imp) && imp != "database/sql" || imp == "chiso/indicator" },
		"graph": func(imp string) bool {
			return noStore(imp) && imp != "chiso/loader" && !strings.HasPrefix(imp, "chiso/httpapi") && imp != "chiso/respcache"
		},
		"store": func(imp string) bool { return imp != "chiso/graph" && imp != "chiso/loader" && imp != "chiso/httpapi" },
		"loader": func(imp string) bool {
			return !strings.HasPrefix(imp, duck) && imp != "chiso/graph" && imp != "chiso/httpapi"
		},
		"datasets": func(imp string) bool {
			return !strings.HasPrefix(imp, duck) && imp != "chiso/store" && imp != "chiso/graph"
		},
		// The HTTP layer answers from an indicator.Engine; it never sees
		// what is behind it, nor loads data.
		"httpapi":   func(imp string) bool { return noStore(imp) && imp != "chiso/loader" },
		"respcache": func(imp string) bool { return std(imp) || imp == "chiso/indicator" },
		// The pages: embedded files and a handler, nothing of the data.
		"web": std,
		// The script harness is handed its store and loader by the caller.
		"scripttest": noStore,
		".":          func(imp string) bool { return !strings.HasPrefix(imp, duck) && imp != "database/sql" },
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
