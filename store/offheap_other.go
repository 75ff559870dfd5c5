//go:build !unix

package store

// offHeap falls back to Go's heap where mappings are not available; dir
// (the folder of a file-backed index) is not used.
func offHeap(n int, dir string) ([]byte, func(), error) { return make([]byte, n), func() {}, nil }
