package indicator

import (
	"fmt"
	"strconv"
	"strings"
)

// Figure is a number read from a figure as written in a Vietnamese source.
type Figure struct {
	Value          float64
	Denominator    float64 // the second number of a ratio written a/b
	HasDenominator bool
}

// ParseFigure reads the first number (and, after a '/', the second) of a
// figure as written in a Vietnamese document: '.' groups thousands and ','
// marks decimals, so "452.456" is 452456, "37,93%" is 37.93 and
// "1.029,31km²" is 1029.31. With dotDecimal the document is taken to use
// '.' as its decimal point ("7.5%" is 7.5). Text around the numbers (units,
// words, signs) is ignored.
func ParseFigure(raw string, dotDecimal bool) (Figure, error) {
	toks := numberTokens(raw)
	if len(toks) == 0 {
		return Figure{}, fmt.Errorf("figure %q: no number: %w", raw, ErrInvalid)
	}
	v, err := parseVN(toks[0].text, dotDecimal)
	if err != nil {
		return Figure{}, fmt.Errorf("figure %q: %w", raw, err)
	}
	f := Figure{Value: v}
	if len(toks) > 1 && toks[1].afterSlash {
		d, err := parseVN(toks[1].text, dotDecimal)
		if err != nil {
			return Figure{}, fmt.Errorf("figure %q: %w", raw, err)
		}
		f.Denominator, f.HasDenominator = d, true
	}
	return f, nil
}

type numberToken struct {
	text       string
	afterSlash bool
}

// numberTokens splits s into runs of digits joined by single '.' or ','.
func numberTokens(s string) []numberToken {
	var out []numberToken
	i := 0
	for i < len(s) {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) {
			c := s[j]
			if c >= '0' && c <= '9' {
				j++
				continue
			}
			if (c == '.' || c == ',') && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' {
				j++
				continue
			}
			break
		}
		slash := strings.HasSuffix(strings.TrimRight(s[:i], " "), "/")
		out = append(out, numberToken{text: s[i:j], afterSlash: slash})
		i = j
	}
	return out
}

func parseVN(tok string, dotDecimal bool) (float64, error) {
	var norm string
	if dotDecimal {
		norm = strings.ReplaceAll(tok, ",", "")
	} else {
		// Thousands groups after '.' must have exactly three digits.
		intPart, _, _ := strings.Cut(tok, ",")
		groups := strings.Split(intPart, ".")
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, fmt.Errorf("%q: '.' separates thousands and must be followed by three digits: %w", tok, ErrInvalid)
			}
		}
		if strings.Count(tok, ",") > 1 {
			return 0, fmt.Errorf("%q: more than one decimal comma: %w", tok, ErrInvalid)
		}
		norm = strings.ReplaceAll(strings.ReplaceAll(tok, ".", ""), ",", ".")
	}
	v, err := strconv.ParseFloat(norm, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: not a number: %w", tok, ErrInvalid)
	}
	return v, nil
}
