package topology

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and the # want: blocks of testdata/*.bad.yaml")

// TestBadFiles parses every testdata/*.bad.yaml (a scenario when its name
// holds ".scenario.", else a topology) and checks that it reports exactly
// the errors listed in its leading "# want:" comment block, one full error
// line per comment line.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, body, ok := splitWant(string(data))
			if !ok {
				t.Fatalf("%s has no # want: block", file)
			}
			got := parseErrors(t, file)
			if *update {
				// The want block's length moves every line below it: rewrite
				// until the positions are stable.
				for range 5 {
					writeWant(t, file, got, body)
					if want, got = got, parseErrors(t, file); slices.Equal(want, got) {
						break
					}
				}
				return
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("missing error:\n\t%s", w)
				}
			}
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("unexpected error:\n\t%s", g)
				}
			}
		})
	}
}

// parseErrors loads file and returns its error lines, checking that the
// joined error prints exactly those lines.
func parseErrors(t *testing.T, file string) []string {
	t.Helper()
	var err error
	if strings.Contains(file, ".scenario.") {
		_, err = LoadScenario(file)
	} else {
		_, err = LoadTopology(file)
	}
	var got []string
	for _, e := range ErrorList(err) {
		got = append(got, e.Error())
	}
	if err != nil && err.Error() != strings.Join(got, "\n") {
		t.Errorf("err.Error() is not the sorted error lines:\n%s", err)
	}
	return got
}

// splitWant returns the error lines of the leading "# want:" block and the
// rest of the file.
func splitWant(s string) (want []string, body string, ok bool) {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "# want:" {
		return nil, s, false
	}
	i := 1
	for ; i < len(lines) && strings.HasPrefix(lines[i], "# "); i++ {
		want = append(want, strings.TrimSpace(strings.TrimPrefix(lines[i], "# ")))
	}
	return want, strings.Join(lines[i:], ""), true
}

// writeWant rewrites file's want block with got.
func writeWant(t *testing.T, file string, got []string, body string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# want:\n")
	for _, g := range got {
		b.WriteString("# " + g + "\n")
	}
	b.WriteString(body)
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
