package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

const srcPath = "../../../shared/sources/gis-lai-chau-districts.json"

func units(t *testing.T) []Unit {
	f, err := os.Open("../../datasets/laichau/units.csv")
	require.NoError(t, err)
	defer f.Close()
	u, err := readUnits(f)
	require.NoError(t, err)
	return u
}

// TestCommittedMapIsTheConversion converts the source again and requires
// the committed file to be its output, byte for byte.
func TestCommittedMapIsTheConversion(t *testing.T) {
	src, err := os.ReadFile(srcPath)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent (../shared beside the repository): the conversion is not checked", srcPath)
	}
	require.NoError(t, err)
	got, err := Convert(src, units(t))
	require.NoError(t, err)
	committed, err := os.ReadFile("../data/lai-chau-districts.geo.json")
	require.NoError(t, err)
	require.True(t, bytes.Equal(committed, got), "web/data/lai-chau-districts.geo.json is not mkgeo's output: run go run ./web/mkgeo")
}

// TestConvertRefusesUnknownDistricts: a district name that no unit has,
// or a unit left without a shape, is an error naming it.
func TestConvertRefusesUnknownDistricts(t *testing.T) {
	ring := `[[[[103,22],[103.1,22],[103.1,22.1],[103,22.1],[103,22]]]]`
	src := `{"level1_id":"12","name":"Tỉnh Lai Châu","level2s":[
		{"level2_id":"108","name":"Huyện Sìn Hồ","type":"MultiPolygon","coordinates":` + ring + `},
		{"level2_id":"109","name":"Huyện Phong Thổ","type":"MultiPolygon","coordinates":` + ring + `},
		{"level2_id":"199","name":"Huyện Không Có","type":"MultiPolygon","coordinates":` + ring + `}]}`
	u := []Unit{{"vn.lai-chau.sin-ho", "Sìn Hồ", "district", Province}, {"vn.lai-chau.phong-tho", "Phong Thổ", "district", Province}}
	_, err := Convert([]byte(src), u)
	require.ErrorContains(t, err, `district 199 "Huyện Không Có": no district of vn.lai-chau in the units has that name`)

	u = append(u, Unit{"vn.lai-chau.tam-duong", "Tam Đường", "district", Province})
	src = `{"level2s":[
		{"level2_id":"108","name":"Huyện Sìn Hồ","type":"MultiPolygon","coordinates":` + ring + `},
		{"level2_id":"109","name":"Huyện Phong Thổ","type":"MultiPolygon","coordinates":` + ring + `}]}`
	_, err = Convert([]byte(src), u)
	require.ErrorContains(t, err, "unit vn.lai-chau.tam-duong (Tam Đường): no district of that name in the source")
}
