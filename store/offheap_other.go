//go:build !unix

package store

// offHeap falls back to Go's heap where anonymous mappings are not
// available.
func offHeap(n int) ([]byte, func(), error) { return make([]byte, n), func() {}, nil }
