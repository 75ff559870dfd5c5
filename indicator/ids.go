package indicator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Global ids. Every unit, indicator and observation has an id unique
// across types and stable across reloads for the same thing, so a
// client's normalized cache (Apollo, urql, Relay) keys them as they are:
//
//	Unit:vn.lai-chau.phong-tho
//	Indicator:poverty_rate
//	Observation:vn.lai-chau.phong-tho:poverty_rate:2019:actual:3b0c5e1f2a9d8c47
//
// An observation's id is its unit, indicator, period and kind followed by
// a hash (64 bits of SHA-256, in hex) of everything that identifies the
// fact: those four and its basis, qualifier, source, line, figure as
// written and flags — the key loading refuses to see twice. It never
// depends on the row's position, so a reload that adds rows elsewhere
// keeps it, and two observations of one key from different sources (or
// lines) have different ids. Codes cannot contain ':' (the loader allows
// letters, digits, '.', '_' and '-'), nor can period labels, so an id
// splits unambiguously; clients should still treat ids as opaque.

// Node types.
const (
	NodeUnit        = "Unit"
	NodeIndicator   = "Indicator"
	NodeObservation = "Observation"
)

// NodeID is the unit's global id.
func (u *Unit) NodeID() string { return NodeUnit + ":" + u.Code }

// NodeID is the indicator's global id.
func (i *Indicator) NodeID() string { return NodeIndicator + ":" + i.Code }

// NodeID is the observation's global id, derived from what identifies the
// fact, never from its row id.
func (o *Observation) NodeID() string {
	var b strings.Builder
	b.Grow(len(o.Unit) + len(o.Indicator) + len(o.Period.Label) + len(o.Kind) + 32)
	b.WriteString(NodeObservation)
	for _, s := range [...]string{o.Unit, o.Indicator, o.Period.Label, string(o.Kind)} {
		b.WriteByte(':')
		b.WriteString(s)
	}
	b.WriteByte(':')
	b.WriteString(o.FactHash())
	return b.String()
}

// FactHash is the hex of the first 64 bits of SHA-256 over the
// observation's identity (unit, indicator, period, kind, basis,
// qualifier, source, line, raw and flags, NUL-separated).
func (o *Observation) FactHash() string {
	var stack [256]byte
	buf := stack[:0]
	for _, s := range [...]string{o.Unit, o.Indicator, o.Period.Label, string(o.Kind), string(o.Basis), o.Qualifier, o.Source} {
		buf = append(append(buf, s...), 0)
	}
	buf = append(strconv.AppendInt(buf, int64(o.Line), 10), 0)
	buf = append(append(buf, o.Raw...), 0)
	for i, f := range o.Flags {
		if i > 0 {
			buf = append(buf, ';')
		}
		buf = append(buf, f...)
	}
	buf = append(buf, 0)
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:8])
}

// NodeRef is a parsed global id: its type and the code (a unit's or an
// indicator's), or for an observation the series, period and kind it
// names and the hash of the fact.
type NodeRef struct {
	Type      string
	Code      string // Unit, Indicator
	Unit      string // Observation
	Indicator string
	Period    string
	Kind      ObservationKind
	Hash      string
}

// ParseNodeID parses a global id, or says (for a client) what was expected.
func ParseNodeID(id string) (NodeRef, error) {
	typ, rest, ok := strings.Cut(id, ":")
	bad := func(what string) (NodeRef, error) {
		return NodeRef{}, fmt.Errorf("%q is not %s: expected Unit:CODE, Indicator:CODE or Observation:UNIT:INDICATOR:PERIOD:KIND:HASH, as an id field gives it", id, what)
	}
	if !ok || rest == "" {
		return bad("an id")
	}
	switch typ {
	case NodeUnit, NodeIndicator:
		if strings.Contains(rest, ":") {
			return bad("a " + strings.ToLower(typ) + " id")
		}
		return NodeRef{Type: typ, Code: rest}, nil
	case NodeObservation:
		parts := strings.Split(rest, ":")
		if len(parts) != 5 || slices.Contains(parts, "") {
			return bad("an observation id")
		}
		if _, err := hex.DecodeString(parts[4]); err != nil || len(parts[4]) != 16 {
			return bad("an observation id")
		}
		return NodeRef{Type: typ, Unit: parts[0], Indicator: parts[1], Period: parts[2], Kind: ObservationKind(parts[3]), Hash: parts[4]}, nil
	}
	return bad("an id")
}
