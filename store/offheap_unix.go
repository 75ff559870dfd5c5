//go:build unix

package store

import "syscall"

// offHeap returns n zeroed bytes mapped outside Go's heap, with the
// function that returns them to the system. Memory the collector does not
// own neither counts toward its target (5× the live heap while serving)
// nor is scanned.
func offHeap(n int) ([]byte, func(), error) {
	if n == 0 {
		return nil, func() {}, nil
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { syscall.Munmap(b) }, nil
}
