package report

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/tracerig/tracerig/internal/record"
)

// decisionSpill is how many lines a DecisionLog sorts in memory before it
// writes them to a run file: about 8 MB of lines.
const decisionSpill = 1 << 16

// DecisionLog writes a run's decision log (see WriteDecisions) as its
// requests settle, in bounded memory: the lines of each part are kept until
// there are decisionSpill of them, then sorted and written to a temporary
// run file beside path; Close merges the runs into path, ordered by request
// and hop ID, the file a run that kept its records writes.
type DecisionLog struct {
	path    string
	spillAt int    // decisionSpill; smaller in tests
	tmp     string // folder of the run files; "" until the first spill
	lines   []decisionLine
	runs    []string
}

// decisionLine is one line of the log with its sort key.
type decisionLine struct {
	request, hop uint64
	text         []byte
}

func compareLines(a, b decisionLine) int {
	return compareHops(record.Hop{Request: a.request, ID: a.hop}, record.Hop{Request: b.request, ID: b.hop})
}

// NewDecisionLog returns a log that Close writes to path.
func NewDecisionLog(path string) *DecisionLog {
	return &DecisionLog{path: path, spillAt: decisionSpill}
}

// Add logs the hops of one part of the run.
func (d *DecisionLog) Add(hops []record.Hop) error {
	for i := range hops {
		h := &hops[i]
		d.lines = append(d.lines, decisionLine{request: h.Request, hop: h.ID, text: appendDecision(nil, h)})
	}
	if len(d.lines) >= d.spillAt {
		return d.spill()
	}
	return nil
}

// spill sorts the lines held and writes them to a new run file.
func (d *DecisionLog) spill() error {
	if d.tmp == "" {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
			return fmt.Errorf("decision log: %w", err)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(d.path), ".decisions-")
		if err != nil {
			return fmt.Errorf("decision log: %w", err)
		}
		d.tmp = tmp
	}
	name := filepath.Join(d.tmp, fmt.Sprintf("run-%06d", len(d.runs)))
	err := streamFile(name, func(w io.Writer) error {
		return writeLines(w, d.lines)
	})
	if err != nil {
		return fmt.Errorf("decision log: %w", err)
	}
	d.runs = append(d.runs, name)
	d.lines = d.lines[:0]
	return nil
}

// writeLines sorts lines and writes their text.
func writeLines(w io.Writer, lines []decisionLine) error {
	slices.SortFunc(lines, compareLines)
	for _, l := range lines {
		if _, err := w.Write(l.text); err != nil {
			return err
		}
	}
	return nil
}

// Close writes the log to path and removes the run files.
func (d *DecisionLog) Close() error {
	defer d.Abort()
	if len(d.runs) > 0 && len(d.lines) > 0 {
		if err := d.spill(); err != nil {
			return err
		}
	}
	err := streamFile(d.path, func(w io.Writer) error {
		if _, err := io.WriteString(w, decisionsHeader); err != nil {
			return err
		}
		if len(d.runs) == 0 {
			return writeLines(w, d.lines)
		}
		return mergeRuns(w, d.runs)
	})
	if err != nil {
		return fmt.Errorf("write decision log: %w", err)
	}
	return nil
}

// streamFile writes what write produces to path through a buffered writer,
// creating the path's folder: unlike writeFile it never holds the file in
// memory, which a long run's decision log would not fit.
func streamFile(path string, write func(io.Writer) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// Abort removes the run files without writing the log.
func (d *DecisionLog) Abort() {
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
		d.tmp, d.runs = "", nil
	}
}

// mergeRuns writes the lines of sorted run files to w in order.
func mergeRuns(w io.Writer, runs []string) error {
	h := &lineHeap{}
	for _, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r := &runReader{sc: bufio.NewScanner(f)}
		r.sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		if r.next() {
			h.rs = append(h.rs, r)
		} else if r.err != nil {
			return r.err
		}
	}
	heap.Init(h)
	bw := bufio.NewWriter(w)
	for h.Len() > 0 {
		r := h.rs[0]
		bw.Write(r.line.text)
		bw.WriteByte('\n')
		if r.next() {
			heap.Fix(h, 0)
			continue
		}
		if r.err != nil {
			return r.err
		}
		heap.Pop(h)
	}
	return bw.Flush()
}

// runReader reads one run file line by line, with each line's key.
type runReader struct {
	sc   *bufio.Scanner
	line decisionLine
	err  error
}

// next reads the next line; false at the end or on an error (in err).
func (r *runReader) next() bool {
	if !r.sc.Scan() {
		r.err = r.sc.Err()
		return false
	}
	text := r.sc.Bytes()
	f := bytes.SplitN(text, []byte{'\t'}, 3)
	if len(f) < 3 {
		r.err = fmt.Errorf("decision log run: line %q has no request and hop", text)
		return false
	}
	req, err1 := strconv.ParseUint(string(f[0]), 10, 64)
	hop, err2 := strconv.ParseUint(string(f[1]), 16, 64)
	if err := errors.Join(err1, err2); err != nil {
		r.err = fmt.Errorf("decision log run: %w", err)
		return false
	}
	r.line = decisionLine{request: req, hop: hop, text: text}
	return true
}

// lineHeap orders run readers by their current line.
type lineHeap struct{ rs []*runReader }

func (h *lineHeap) Len() int           { return len(h.rs) }
func (h *lineHeap) Less(i, j int) bool { return compareLines(h.rs[i].line, h.rs[j].line) < 0 }
func (h *lineHeap) Swap(i, j int)      { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *lineHeap) Push(x any)         { h.rs = append(h.rs, x.(*runReader)) }
func (h *lineHeap) Pop() any {
	r := h.rs[len(h.rs)-1]
	h.rs = h.rs[:len(h.rs)-1]
	return r
}
