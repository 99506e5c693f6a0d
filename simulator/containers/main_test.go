package containers

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// ryukLeftOnEnv makes the test binary leave RyukEnv as it finds it, for
// TestRyukLeftOn.
const ryukLeftOnEnv = "TRACERIG_TEST_RYUK_LEFT_ON"

func TestMain(m *testing.M) {
	// What cmd/tracerig's main does for testcontainers.
	if os.Getenv(RyukEnv) == "" && os.Getenv(ryukLeftOnEnv) == "" {
		os.Setenv(RyukEnv, "true")
	}
	code := m.Run()
	removeServiceImage()
	os.Exit(code)
}

// TestRyukLeftOn: with Ryuk neither turned off nor asked for, Docker says
// how to turn it off, rather than failing to pull its image.
func TestRyukLeftOn(t *testing.T) {
	if os.Getenv(ryukLeftOnEnv) == "1" {
		_, err := Docker(t.Context())
		if want := "set " + RyukEnv + "=true"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Docker with Ryuk left on: got %v, want an error with %q", err, want)
		}
		return
	}
	requireDocker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRyukLeftOn$", "-test.count=1")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, RyukEnv+"=") })
	cmd.Env = append(cmd.Env, ryukLeftOnEnv+"=1", "HOME="+t.TempDir()) // no ~/.testcontainers.properties
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%v\n%s", err, out)
	}
}
