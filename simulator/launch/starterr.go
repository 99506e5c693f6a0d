package launch

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// StartError is a started service that did not come up: a command node
// here, an image node in the containers package.
type StartError struct {
	Node  string   // the service's name
	Cause error    // what went wrong: "exited at once (exit status 2)", "not ready after 30s (waiting for http GET /healthz)", ...
	Log   string   // the path of the file holding its output, or ""
	Lines []string // the last lines of its output (up to TailLines)
}

// TailLines is how many of a failed node's last lines of output a
// StartError holds.
const TailLines = 20

// Error says which node failed, why, and how its output ends:
//
//	start checkout: exited at once (exit status 2); last lines of /tmp/run/checkout.log:
//		listen tcp 127.0.0.1:8080: bind: address already in use
func (e *StartError) Error() string {
	var b strings.Builder
	b.WriteString("start " + e.Node + ": ")
	if e.Cause != nil {
		b.WriteString(e.Cause.Error())
	} else {
		b.WriteString("failed")
	}
	switch {
	case e.Log == "":
	case len(e.Lines) == 0:
		b.WriteString("; no output in " + e.Log)
	default:
		b.WriteString("; last lines of " + e.Log + ":")
		for _, l := range e.Lines {
			b.WriteString("\n\t" + l)
		}
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *StartError) Unwrap() error { return e.Cause }

// LastLines returns the last n lines of the file at path, without their
// line endings; nil when the file is missing or empty. Only the file's
// tail is read, so a huge log costs no more than a small one; an overlong
// line is cut short.
func LastLines(path string, n int) []string {
	return lastLinesFrom(path, 0, n)
}

const (
	tailBytes   = 64 << 10 // how much of a file's end LastLines reads
	maxLineLen  = 1000     // longer lines are cut to this many bytes
	lineCutMark = " [...]"
)

// lastLinesFrom returns the last n lines of the file at path written at or
// after byte offset from (the output of one start in a log that several
// runs append to).
func lastLinesFrom(path string, from int64, n int) []string {
	if n <= 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() <= from {
		return nil
	}
	start := max(from, st.Size()-tailBytes)
	buf := make([]byte, st.Size()-start)
	k, err := f.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		return nil
	}
	buf = buf[:k]
	if start > from { // the first line is likely cut: drop it
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	lines = lines[max(0, len(lines)-n):]
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if len(l) > maxLineLen {
			l = l[:maxLineLen] + lineCutMark
		}
		lines[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	return lines
}
