package indicator

import (
	"strings"
	"testing"
)

// TestNodeIDs: ids round-trip through ParseNodeID, every part of an
// observation's identity changes its id, and its row id does not.
func TestNodeIDs(t *testing.T) {
	p, err := ParsePeriod("2019")
	if err != nil {
		t.Fatal(err)
	}
	o := Observation{ID: 7, Unit: "vn.lai-chau.phong-tho", Indicator: "poverty_rate", Period: p, Kind: KindActual, Value: 25.64,
		Source: "002_216ab9d5d6ee3cb7", Line: 173, Raw: "25,64%", Methodology: "poverty_2016_2020"}
	id := o.NodeID()
	if !strings.HasPrefix(id, "Observation:vn.lai-chau.phong-tho:poverty_rate:2019:actual:") {
		t.Fatalf("id %s", id)
	}
	ref, err := ParseNodeID(id)
	if err != nil || ref.Type != NodeObservation || ref.Unit != o.Unit || ref.Indicator != o.Indicator || ref.Period != "2019" ||
		ref.Kind != KindActual || ref.Hash != o.FactHash() {
		t.Fatalf("ParseNodeID(%s) = %+v, %v", id, ref, err)
	}
	same := o
	same.ID, same.Value, same.Canonical, same.Note, same.Methodology = 99, 1, true, "a note", "other"
	if same.NodeID() != id {
		t.Errorf("the row id, value, canonical mark, note or methodology changed the id")
	}
	for name, change := range map[string]func(*Observation){
		"basis":     func(o *Observation) { o.Basis = BasisPerYear },
		"qualifier": func(o *Observation) { o.Qualifier = "about" },
		"source":    func(o *Observation) { o.Source = "003_e5d63833b07319cc" },
		"line":      func(o *Observation) { o.Line = 174 },
		"raw":       func(o *Observation) { o.Raw = "25.64%" },
		"flags":     func(o *Observation) { o.Flags = []string{"estimated"} },
		"kind":      func(o *Observation) { o.Kind = KindTarget },
	} {
		x := o
		change(&x)
		if x.NodeID() == id {
			t.Errorf("a different %s kept the id", name)
		}
	}
	u := Unit{Code: "vn.lai-chau"}
	if ref, err := ParseNodeID(u.NodeID()); err != nil || ref != (NodeRef{Type: NodeUnit, Code: "vn.lai-chau"}) {
		t.Errorf("unit id %s: %+v, %v", u.NodeID(), ref, err)
	}
	for _, bad := range []string{"", "vn", "Unit:", "Unit:a:b", "Thing:x", "Observation:a:b:2019:actual", "Observation:a:b:2019:actual:xyz",
		"Observation:a:b:2019:actual:0123456789abcdef0", "Observation:a::2019:actual:0123456789abcdef"} {
		if _, err := ParseNodeID(bad); err == nil {
			t.Errorf("ParseNodeID(%q) accepted", bad)
		}
	}
}

func BenchmarkObservationNodeID(b *testing.B) {
	p, _ := ParsePeriod("2019")
	o := Observation{Unit: "vn.lai-chau.phong-tho", Indicator: "poverty_rate", Period: p, Kind: KindActual,
		Source: "002_216ab9d5d6ee3cb7", Line: 173, Raw: "25,64%"}
	for b.Loop() {
		_ = o.NodeID()
	}
}
