// Package buildinfo says which tracerig is running: the module version and
// the version control revision the Go toolchain recorded in the binary.
//
// A tagged "go install" records the tag (v0.3.1); "go build" in a clone
// records a pseudo-version, or "(devel)" where the toolchain could not
// derive one, which Version turns into "devel+" and the short revision,
// "-dirty" when the work tree had changes; "go run" and test binaries
// record no revision, and Version is then "devel".
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// Info is what a binary's build info says of tracerig.
type Info struct {
	// Version is the module version: a tag, a pseudo-version, "devel+"
	// and the short revision, or "devel".
	Version string
	// Revision is the version control revision the binary was built
	// from; "" when none was recorded.
	Revision string
	// Time is the revision's commit time; zero when none was recorded.
	Time time.Time
	// Modified says the work tree had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built the binary: go1.26.8.
	GoVersion string
}

// shortRevision is how many characters of a revision Version and String
// show.
const shortRevision = 7

// FromBuildInfo reads bi, as debug.ReadBuildInfo returns it; a nil bi gives
// the Info of a binary without build info (Version "devel").
func FromBuildInfo(bi *debug.BuildInfo) Info {
	if bi == nil {
		return Info{Version: "devel"}
	}
	in := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time, _ = time.Parse(time.RFC3339, s.Value) // zero when malformed
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	if in.Version == "" || in.Version == "(devel)" {
		in.Version = "devel"
		if in.Revision != "" {
			in.Version += "+" + short(in.Revision)
			if in.Modified {
				in.Version += "-dirty"
			}
		}
	}
	return in
}

// String describes the build in one line:
// "tracerig v0.3.1 (rev abc1234, 2026-01-02T03:04:05Z, dirty, go1.26.8)".
func (in Info) String() string {
	var parts []string
	if in.Revision != "" {
		parts = append(parts, "rev "+short(in.Revision))
	}
	if !in.Time.IsZero() {
		parts = append(parts, in.Time.UTC().Format(time.RFC3339))
	}
	if in.Modified {
		parts = append(parts, "dirty")
	}
	if in.GoVersion != "" {
		parts = append(parts, in.GoVersion)
	}
	if len(parts) == 0 {
		return "tracerig " + in.Version
	}
	return fmt.Sprintf("tracerig %s (%s)", in.Version, strings.Join(parts, ", "))
}

func short(rev string) string { return rev[:min(len(rev), shortRevision)] }

// Read returns the Info of the running binary.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return FromBuildInfo(nil)
	}
	return FromBuildInfo(bi)
}

// Version returns the running binary's version, as Info.Version says it.
func Version() string { return Read().Version }

// Revision returns the version control revision the running binary was
// built from; "" when none was recorded.
func Revision() string { return Read().Revision }

// String describes the running binary's build in one line, as Info.String
// does.
func String() string { return Read().String() }
