package config

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// The flag values. Each Set says what it expected; String tolerates the
// zero value, which the flag package makes to print defaults.

type stringValue struct{ p *string }

func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

type intValue struct {
	p   *int
	min int
}

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("expected a whole number of %d or more", v.min)
	}
	if n < v.min {
		return fmt.Errorf("expected a whole number of %d or more, got %d", v.min, n)
	}
	*v.p = n
	return nil
}

func (v intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

type int64Value struct{ p *int64 }

func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("expected a whole number")
	}
	*v.p = n
	return nil
}

func (v int64Value) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(*v.p, 10)
}

// shareValue is a fraction from 0 to 1.
type shareValue struct{ p *float64 }

func (v shareValue) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || x < 0 || x > 1 {
		return fmt.Errorf("expected a share from 0 to 1 such as 0.05")
	}
	*v.p = x
	return nil
}

func (v shareValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("expected a duration like 10s, 500ms or 2m")
	}
	if d < 0 {
		return fmt.Errorf("expected a duration of 0 or more, got %s", d)
	}
	*v.p = d
	return nil
}

func (v durationValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}

// positiveDuration is a duration above 0.
type positiveDuration struct{ p *time.Duration }

func (v positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return fmt.Errorf("expected a duration above 0 like 10s, 500ms or 2m")
	}
	*v.p = d
	return nil
}

func (v positiveDuration) String() string { return durationValue(v).String() }

type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("expected true or false")
	}
	*v.p = b
	return nil
}

func (v boolValue) String() string { return strconv.FormatBool(v.p != nil && *v.p) }
func (boolValue) IsBoolFlag() bool { return true }

// addrValue is a listen address, host:port with a numeric port.
type addrValue struct{ p *string }

func (v addrValue) Set(s string) error {
	_, port, err := net.SplitHostPort(s)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return fmt.Errorf("expected a listen address host:port such as :8080 or 127.0.0.1:8080")
	}
	*v.p = s
	return nil
}

func (v addrValue) String() string { return stringValue(v).String() }

type levelValue struct{ p *slog.Level }

func (v levelValue) Set(s string) error {
	if err := v.p.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("expected debug, info, warn or error")
	}
	return nil
}

func (v levelValue) String() string {
	if v.p == nil {
		return "INFO"
	}
	return strings.ToLower(v.p.String())
}

// choiceValue is one of a few names; fold accepts any case and keeps the
// name as listed.
type choiceValue struct {
	p     *string
	names []string
	fold  bool
}

func (v choiceValue) Set(s string) error {
	for _, n := range v.names {
		if s == n || (v.fold && strings.EqualFold(s, n)) {
			*v.p = n
			return nil
		}
	}
	return fmt.Errorf("expected %s", strings.Join(v.names, ", "))
}

func (v choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// listValue is a flag that may be given several times.
type listValue []string

func (l *listValue) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *listValue) Set(v string) error { *l = append(*l, v); return nil }
