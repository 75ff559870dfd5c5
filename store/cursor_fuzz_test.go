package store

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"chiso/indicator"
)

// FuzzCursor: any string given as after or before either decodes to a
// cursor chiso could have given for this list and dataset version (it
// re-encodes to the same string, its key is a position, not negative) and
// the page cut at it lies strictly after (before) it, or is refused with
// an INVALID_ARGUMENT naming the argument and saying what was expected,
// in a short, printable message. Seeded from the adversarial suite's
// forged cursors (negative, huge, of another version or list), garbage,
// NUL bytes, invalid UTF-8 and SQL-looking strings.
func FuzzCursor(f *testing.F) {
	const version = "5e1f0c3a9b2d7e4f6a8c0b1d3e5f7a9c"
	short := shortVersion(version)
	forge := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, seed := range []string{
		"",
		encodeCursor("o", version, 0),
		encodeCursor("o", version, 7),
		encodeCursor("o", version, 1<<62),
		encodeCursor("u", version, 3),
		encodeCursor("o", "000000000000", 3),
		"garbage",
		forge("o:" + short + ":-5"),
		forge("o:" + short + ":99999999999999999999"),
		forge("o:" + short + ":+5"),
		forge("o:" + short + ":007"),
		forge("o:" + short + ": 5"),
		forge("o:" + short + ":5:6"),
		forge("o:" + short + ":"),
		forge("o::5"),
		forge("o:" + short + "\x00:5"),
		forge("o:\xff\xfe" + strings.Repeat("x", 300) + ":5"),
		forge("o:'; DROP TABLE observations; --:5"),
		base64.StdEncoding.EncodeToString([]byte("o:" + short + ":5")),
		encodeCursor("o", version, 5) + "=",
		"\x00",
		"\xff\xfe",
		"'; DROP TABLE observations; --",
		"read_csv('/etc/passwd')",
		"') UNION SELECT * FROM read_csv('/etc/passwd') --",
	} {
		f.Add(seed, uint8(3), false)
	}
	// A list of 50 positions, as units and indicators are paged.
	match := make([]int, 50)
	for i := range match {
		match[i] = i
	}
	f.Fuzz(func(t *testing.T, c string, n uint8, backward bool) {
		for _, arg := range []string{"after", "before"} {
			key, err := decodeCursor(c, arg, "o", version)
			if c == "" {
				if key != -1 || err != nil {
					t.Fatalf("no cursor decodes to %d, %v; want -1, nil", key, err)
				}
				continue
			}
			if err != nil {
				var ae *indicator.ArgError
				if !errors.As(err, &ae) || ae.Arg != arg || !errors.Is(err, indicator.ErrInvalid) {
					t.Fatalf("%q as %s: want an invalid-argument error naming %s, got %T %v", c, arg, arg, err, err)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "argument "+arg+": ") {
					t.Fatalf("%q: message does not name the argument: %s", c, msg)
				}
				if ae.Reason != "not a cursor of this list" &&
					!strings.HasPrefix(ae.Reason, "cursor is from dataset version ") {
					t.Fatalf("%q: message does not say what was expected: %s", c, msg)
				}
				if !utf8.ValidString(msg) || strings.ContainsRune(msg, 0) || len(msg) > 200 {
					t.Fatalf("%q: message not short printable UTF-8: %q", c, msg)
				}
				continue
			}
			if key < 0 {
				t.Fatalf("%q decodes to negative key %d", c, key)
			}
			if again := encodeCursor("o", version, key); again != c {
				t.Fatalf("%q decodes to key %d, whose cursor is %q: a cursor chiso never gave was accepted", c, key, again)
			}
		}
		w, err := pageWindow(indicator.Page{First: int(n % 20), Last: int(n % 20), After: c, Backward: backward}, "o", version)
		if err != nil {
			return
		}
		page, info := paginate(match, w, "o", version)
		if len(page) > int(n%20) {
			t.Fatalf("page of %d for a page size of %d", len(page), n%20)
		}
		if info.TotalCount != len(match) {
			t.Fatalf("totalCount %d, want %d", info.TotalCount, len(match))
		}
		// Positions 0..49 all lie at or before any key a cursor can hold.
		if w.lo >= 0 && !info.HasPreviousPage || w.lo < 0 && !backward && info.HasPreviousPage {
			t.Fatalf("%q: hasPreviousPage %v after key %d", c, info.HasPreviousPage, w.lo)
		}
		for i, k := range page {
			if int64(k) <= w.lo {
				t.Fatalf("%q: the page holds position %d, not after the cursor's %d", c, k, w.lo)
			}
			if !backward && int64(k) != w.lo+1+int64(i) {
				t.Fatalf("%q: the page skips from the cursor's %d to %v", c, w.lo, page)
			}
			if info.Cursors[i] != encodeCursor("o", version, int64(k)) {
				t.Fatalf("cursor %q of position %d", info.Cursors[i], k)
			}
		}
	})
}
