package loader

import "time"

// validSourceDate is whether s is a source date of the form YYYY,
// YYYY-MM or YYYY-MM-DD that is on the calendar: 2024-13-45 has the form
// and is no date.
func validSourceDate(s string) bool {
	if !sourceDate.MatchString(s) {
		return false
	}
	layout := map[int]string{4: "2006", 7: "2006-01", 10: time.DateOnly}[len(s)]
	_, err := time.Parse(layout, s)
	return err == nil
}
