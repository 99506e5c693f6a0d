package launch

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLastLines(t *testing.T) {
	var huge strings.Builder
	for i := range 100000 {
		huge.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name    string
		content string // "" with missing: no file
		missing bool
		n       int
		want    []string
	}{
		{name: "missing file", missing: true, n: 3, want: nil},
		{name: "empty file", content: "", n: 3, want: nil},
		{name: "fewer lines than n", content: "a\nb\n", n: 3, want: []string{"a", "b"}},
		{name: "more lines than n", content: "a\nb\nc\nd\n", n: 2, want: []string{"c", "d"}},
		{name: "no final newline", content: "a\nb\nc", n: 2, want: []string{"b", "c"}},
		{name: "crlf", content: "a\r\nb\r\n", n: 2, want: []string{"a", "b"}},
		{name: "blank lines kept", content: "a\n\nb\n", n: 3, want: []string{"a", "", "b"}},
		{name: "huge file", content: huge.String(), n: 2, want: []string{"line 99998", "line 99999"}},
		{name: "long line cut", content: "a\n" + long + "\n", n: 1, want: []string{long[:maxLineLen] + lineCutMark}},
		{name: "zero n", content: "a\n", n: 0, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node.log")
			if !tt.missing {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := LastLines(path, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("LastLines = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLastLinesFrom: only the output after an offset counts (this start's,
// in a log earlier runs wrote to).
func TestLastLinesFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.log")
	old := "earlier run\nits last line\n"
	if err := os.WriteFile(path, []byte(old+"this run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := lastLinesFrom(path, int64(len(old)), 5), []string{"this run"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := lastLinesFrom(path, int64(len(old)+len("this run\n")), 5); got != nil {
		t.Errorf("nothing new: got %q", got)
	}
}

func TestStartErrorMessage(t *testing.T) {
	cause := errors.New("exited at once (exit status 2)")
	tests := []struct {
		name string
		err  *StartError
		want string
	}{
		{
			name: "with lines",
			err:  &StartError{Node: "checkout", Cause: cause, Log: "/tmp/run/checkout.log", Lines: []string{"listening", "panic: boom"}},
			want: "start checkout: exited at once (exit status 2); last lines of /tmp/run/checkout.log:\n\tlistening\n\tpanic: boom",
		},
		{
			name: "no output",
			err:  &StartError{Node: "checkout", Cause: cause, Log: "/tmp/run/checkout.log"},
			want: "start checkout: exited at once (exit status 2); no output in /tmp/run/checkout.log",
		},
		{
			name: "no log",
			err:  &StartError{Node: "inventory", Cause: cause},
			want: "start inventory: exited at once (exit status 2)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if !errors.Is(tt.err, cause) {
				t.Error("does not unwrap to its cause")
			}
		})
	}
}
