package store

// Unprepared makes s run its read statements unprepared, for tests and
// benchmarks that compare both paths.
func Unprepared(s *Store) { s.unprepared = true }
