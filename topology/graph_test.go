package topology

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func loadShop(t *testing.T) *Topology {
	t.Helper()
	topo, err := LoadTopology("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestGraphGolden compares WriteDOT and WriteMermaid with
// testdata/*.golden; go test -update rewrites them.
func TestGraphGolden(t *testing.T) {
	topo := loadShop(t)
	msg, err := LoadTopology("testdata/messaging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		golden string
		write  func(io.Writer) error
	}{
		{"shop.dot.golden", topo.WriteDOT},
		{"shop.mermaid.golden", topo.WriteMermaid},
		{"messaging.dot.golden", msg.WriteDOT},
		{"messaging.mermaid.golden", msg.WriteMermaid},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.write(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs (go test -update rewrites it):\ngot\n%s\nwant\n%s", path, buf.Bytes(), want)
			}
		})
	}
}

func TestEdges(t *testing.T) {
	want := []Edge{
		{"frontend", "cart", "GET /cart", ""},
		{"frontend", "legacy-proxy", "GET /stock", ""},
		{"frontend", "payment", "shop.Payment/Charge", ""},
		{"frontend", "shipping", "POST /quote", ""},
		{"legacy-proxy", "inventory", "inventory.Stock/Get", ""},
	}
	if got := loadShop(t).Edges(); !reflect.DeepEqual(got, want) {
		t.Errorf("Edges() = %v, want %v", got, want)
	}
}

func TestEntryRoutes(t *testing.T) {
	want := []RouteRef{{"frontend", "GET /checkout"}, {"frontend", "GET /health"}}
	if got := loadShop(t).EntryRoutes(); !reflect.DeepEqual(got, want) {
		t.Errorf("EntryRoutes() = %v, want %v", got, want)
	}
}

func TestWalk(t *testing.T) {
	var got []string
	loadShop(t).Service("frontend").Route("GET /checkout").Walk(func(c *Call) {
		got = append(got, c.Service)
	})
	want := []string{"cart", "payment", "shipping", "legacy-proxy"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk visited %v, want %v", got, want)
	}
}
