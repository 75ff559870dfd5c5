package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGraphQLOverHTTPAudit runs graphql-http's server audits (the npm
// package pinned in conformance/package-lock.json, installed by npm ci)
// against the real server on 127.0.0.1: every audit must pass, with no
// warning. Without node or the installed package it skips, unless
// CHISO_REQUIRE_NODE=1 (as in .ci/run), where it fails.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	must := os.Getenv("CHISO_REQUIRE_NODE") == "1"
	missing := func(why string) {
		if must {
			t.Fatalf("CHISO_REQUIRE_NODE=1 but %s", why)
		}
		t.Skipf("skipped: %s (install node and run npm ci in conformance/, or run .ci/run)", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join("conformance", "node_modules", "graphql-http", "package.json")); err != nil {
		missing("conformance/node_modules/graphql-http is not installed")
	}
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "audit.mjs", srv.base+"/graphql")
	cmd.Dir = "conformance"
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err, "graphql-http audit failed or warned:\n%s", out)
	require.Contains(t, string(out), " 0 warnings, 0 failures")
}
