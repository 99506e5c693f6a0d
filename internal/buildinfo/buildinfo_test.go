package buildinfo

import (
	"runtime/debug"
	"testing"
)

const rev = "abc1234def5678901234567890abcdef12345678"

func build(version string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/tracerig/tracerig", Version: version}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

func TestFromBuildInfo(t *testing.T) {
	for _, tt := range []struct {
		name        string
		bi          *debug.BuildInfo
		wantVersion string
		wantRev     string
		wantString  string
	}{
		{
			name:        "go install of a tag: no revision recorded",
			bi:          build("v0.3.1"),
			wantVersion: "v0.3.1",
			wantString:  "tracerig v0.3.1 (go1.26.8)",
		},
		{
			name:        "go build in a clean clone at a tag",
			bi:          build("v0.3.1", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false"),
			wantVersion: "v0.3.1",
			wantRev:     rev,
			wantString:  "tracerig v0.3.1 (rev abc1234, 2026-01-02T03:04:05Z, go1.26.8)",
		},
		{
			name:        "go build in a clone: pseudo-version kept",
			bi:          build("v0.3.2-0.20260102030405-abc1234def56+dirty", "vcs.revision", rev, "vcs.modified", "true"),
			wantVersion: "v0.3.2-0.20260102030405-abc1234def56+dirty",
			wantRev:     rev,
			wantString:  "tracerig v0.3.2-0.20260102030405-abc1234def56+dirty (rev abc1234, dirty, go1.26.8)",
		},
		{
			name:        "go build in a clone without tags: devel and the revision",
			bi:          build("(devel)", "vcs.revision", rev, "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false"),
			wantVersion: "devel+abc1234",
			wantRev:     rev,
			wantString:  "tracerig devel+abc1234 (rev abc1234, 2026-01-02T03:04:05Z, go1.26.8)",
		},
		{
			name:        "go build in a modified clone",
			bi:          build("(devel)", "vcs.revision", rev, "vcs.modified", "true"),
			wantVersion: "devel+abc1234-dirty",
			wantRev:     rev,
			wantString:  "tracerig devel+abc1234-dirty (rev abc1234, dirty, go1.26.8)",
		},
		{
			name:        "go run or a test: no revision",
			bi:          build("(devel)"),
			wantVersion: "devel",
			wantString:  "tracerig devel (go1.26.8)",
		},
		{
			name:        "short revision kept whole",
			bi:          build("", "vcs.revision", "abc"),
			wantVersion: "devel+abc",
			wantRev:     "abc",
			wantString:  "tracerig devel+abc (rev abc, go1.26.8)",
		},
		{
			name:        "malformed commit time left out",
			bi:          build("(devel)", "vcs.revision", rev, "vcs.time", "yesterday"),
			wantVersion: "devel+abc1234",
			wantRev:     rev,
			wantString:  "tracerig devel+abc1234 (rev abc1234, go1.26.8)",
		},
		{
			name:        "no build info",
			wantVersion: "devel",
			wantString:  "tracerig devel",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := FromBuildInfo(tt.bi)
			if in.Version != tt.wantVersion {
				t.Errorf("Version = %q, want %q", in.Version, tt.wantVersion)
			}
			if in.Revision != tt.wantRev {
				t.Errorf("Revision = %q, want %q", in.Revision, tt.wantRev)
			}
			if s := in.String(); s != tt.wantString {
				t.Errorf("String() = %q, want %q", s, tt.wantString)
			}
		})
	}
}

// TestRunningBinary reads the test binary's own build info, whatever the
// toolchain recorded in it.
func TestRunningBinary(t *testing.T) {
	if v := Version(); v == "" {
		t.Error("Version() is empty")
	}
	if s := String(); len(s) < len("tracerig ") || s[:len("tracerig ")] != "tracerig " {
		t.Errorf("String() = %q, want it to start with %q", s, "tracerig ")
	}
	t.Logf("%s (revision %q)", String(), Revision())
}
