//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// offHeap returns n zeroed bytes mapped outside Go's heap, with the
// function that returns them to the system. Memory the collector does not
// own neither counts toward its target (5× the live heap while serving)
// nor is scanned.
//
// With dir empty the mapping is anonymous: it lives in memory. Otherwise
// it is a shared mapping of a file created in dir and unlinked at once, so
// the kernel may write its pages out and read them back under memory
// pressure (an index larger than memory still works, more slowly), and
// the file disappears with the mapping, even if the process dies.
func offHeap(n int, dir string) ([]byte, func(), error) {
	if n == 0 {
		return nil, func() {}, nil
	}
	if dir == "" {
		b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return nil, nil, err
		}
		return b, func() { syscall.Munmap(b) }, nil
	}
	f, err := os.CreateTemp(dir, "points-*.bin")
	if err != nil {
		return nil, nil, fmt.Errorf("point index file: %w", err)
	}
	defer f.Close()
	defer os.Remove(f.Name())
	if err := f.Truncate(int64(n)); err != nil {
		return nil, nil, fmt.Errorf("point index file: %w", err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("point index file: %w", err)
	}
	return b, func() { syscall.Munmap(b) }, nil
}
