package launch

import (
	"fmt"
	"strings"
)

// StartError is a started service of the user's that did not come up: the
// node, why, and the last lines of its output (kept in the file Log) that
// say what it did.
type StartError struct {
	Node  string
	Cause error
	Log   string   // where its whole output is, or ""
	Lines []string // its last lines of output, oldest first
}

func (e *StartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %s: %v", e.Node, e.Cause)
	if len(e.Lines) > 0 {
		log := e.Log
		if log == "" {
			log = "its output"
		}
		fmt.Fprintf(&b, "; last lines of %s:", log)
		for _, l := range e.Lines {
			b.WriteString("\n\t" + l)
		}
	}
	return b.String()
}

func (e *StartError) Unwrap() error { return e.Cause }
