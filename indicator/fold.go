package indicator

import (
	"strings"
	"unicode"
)

// vietnameseFold maps every Vietnamese letter with diacritics (and đ) to
// its base ASCII letter. Built once from the groups below.
var vietnameseFold = func() map[rune]rune {
	groups := map[rune]string{
		'a': "àáảãạăằắẳẵặâầấẩẫậ",
		'e': "èéẻẽẹêềếểễệ",
		'i': "ìíỉĩị",
		'o': "òóỏõọôồốổỗộơờớởỡợ",
		'u': "ùúủũụưừứửữự",
		'y': "ỳýỷỹỵ",
		'd': "đ",
	}
	m := make(map[rune]rune)
	for base, letters := range groups {
		for _, r := range letters {
			m[r] = base
		}
		for _, r := range strings.ToUpper(letters) {
			m[r] = base
		}
	}
	return m
}()

// Fold returns s lower-cased with Vietnamese diacritics removed and runs of
// white space collapsed, for accent- and case-insensitive search:
// Fold("Phong Thổ") == "phong tho", Fold("hộ nghèo") == "ho ngheo".
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if base, ok := vietnameseFold[r]; ok {
			r = base
		}
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		default:
			// Combining marks (decomposed input) carry no letter.
			if r >= 0x300 && r <= 0x36f {
				continue
			}
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
