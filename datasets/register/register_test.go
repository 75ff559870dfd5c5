package register

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConvertReproduces re-runs the converter on ../shared/sources and
// the committed datasets/laichau/units.csv and requires the committed
// files byte for byte: the data is what the converter makes of the
// sources, nothing edited by hand.
func TestConvertReproduces(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "sources")
	if _, err := os.Stat(filepath.Join(src, fileRegister)); err != nil {
		t.Skipf("sources not available (%v): the committed tables are not re-derived", err)
	}
	lc, err := os.ReadFile(filepath.Join("..", "laichau", "units.csv"))
	require.NoError(t, err)
	res, err := Convert(os.DirFS(src), lc)
	require.NoError(t, err)
	require.Len(t, res, 3)
	for name, want := range res {
		got, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(name)))
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "%s differs from what the converter makes: run go run ./datasets/cmd/register", name)
	}
}

func TestNamesAndSlugs(t *testing.T) {
	for _, tc := range []struct{ in, plain, slug string }{
		{"Huyện Tam Đường", "Tam Đường", "tam-duong"},
		{"Thành Phố Bắc Kạn", "Bắc Kạn", "bac-kan"},
		{"Phường 12", "Phường 12", "phuong-12"},
		{"Quận 1", "Quận 1", "quan-1"},
		{"Xã Phường 5", "Phường 5", "phuong-5"},
		{"Phường Văn Miếu - Quốc Tử Giám", "Văn Miếu - Quốc Tử Giám", "van-mieu-quoc-tu-giam"},
		{"Thị trấn Đồng Đăng", "Đồng Đăng", "dong-dang"},
		{"Phường Phường Đúc", "Đúc", "duc"},
	} {
		require.Equal(t, tc.plain, plainName(tc.in), tc.in)
		require.Equal(t, tc.slug, Slug(plainName(tc.in)), tc.in)
	}
	// The conversion writes some letters decomposed (s + ă + U+0301):
	// compact composes them, so "sắp" matches however it was written.
	require.Equal(t, compact("s\u0103\u0301p xếp"), compact("sắp xếp"))
}
