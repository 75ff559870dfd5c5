package store

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxMagnitude bounds the magnitude of a value or denominator. No
// statistic comes near it (a budget in VND is about 1e16), and under it
// no sum, weighted sum or unit conversion of a dataset's values can
// overflow: a rollup over 1e308 would otherwise be an infinity shown as
// null with full coverage.
const MaxMagnitude = 1e100

// numberProblem is what is wrong with a value the staging scan refused:
// a number too large (1e308, or 1e400 which no double holds), else
// generic.
func numberProblem(text, generic string) string {
	t := strings.TrimSpace(text)
	x, err := strconv.ParseFloat(t, 64)
	tooBig := (err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) && math.Abs(x) >= MaxMagnitude) || errors.Is(err, strconv.ErrRange)
	if tooBig && !strings.ContainsAny(t, "xXpP_") {
		return fmt.Sprintf("expected a number of magnitude under %g (sums of larger values overflow)", MaxMagnitude)
	}
	return generic
}
