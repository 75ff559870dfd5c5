// Package web serves chiso's pages from files embedded in the binary:
// GraphiQL at / and the explorer at /explore, with their scripts and
// styles under /assets/. Nothing is fetched from anywhere else: the
// bundles in dist/ are built from pinned npm packages (package.json,
// package-lock.json, build.mjs; see README.md in this folder) and
// committed, so `go build` needs no npm; data/ holds the district map,
// made by mkgeo.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed dist data
var files embed.FS

// Dist is the built pages and bundles (dist/), Data the map (data/).
var (
	Dist, _ = fs.Sub(files, "dist")
	Data, _ = fs.Sub(files, "data")
)

// BuildManifest is dist/manifest.json: the SHA-256 of every input the
// bundles were built from (build.mjs, package.json, package-lock.json,
// src/…) and of every file built.
type BuildManifest struct {
	Esbuild string            `json:"esbuild"`
	Inputs  map[string]string `json:"inputs"`
	Outputs map[string]string `json:"outputs"`
}

// Manifest reads the embedded build manifest.
func Manifest() (BuildManifest, error) {
	var m BuildManifest
	b, err := fs.ReadFile(Dist, "manifest.json")
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// Register adds the pages to mux: GET / (GraphiQL), GET /explore and GET
// /assets/{file}.
func Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", page("graphiql.html"))
	mux.Handle("GET /explore", page("explore.html"))
	mux.HandleFunc("GET /assets/{file}", asset)
}

// page serves one HTML page of dist/.
func page(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(Dist, name)
		if err != nil {
			http.Error(w, "page missing from the build: "+name, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		serve(w, r, name, b)
	})
}

// serve writes b with an ETag of its content, so that a browser
// revalidates (Cache-Control: no-cache) and gets 304 while the binary is
// the same.
func serve(w http.ResponseWriter, r *http.Request, name string, b []byte) {
	sum := sha256.Sum256(b)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// asset serves a bundle of dist/ or a file of data/.
func asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if strings.HasSuffix(name, ".html") || name == "manifest.json" {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(Dist, name)
	if err != nil {
		b, err = fs.ReadFile(Data, name)
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	if strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") || strings.Contains(ct, "json") {
		if !strings.Contains(ct, "charset") {
			ct += "; charset=utf-8"
		}
	}
	w.Header().Set("Content-Type", ct)
	serve(w, r, name, b)
}
