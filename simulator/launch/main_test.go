package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if binDir != "" {
			os.RemoveAll(binDir)
		}
		os.Exit(code)
	}))
}

var (
	buildOnce sync.Once
	binDir    string // removed when the tests end
	nodeBin   string
	buildErr  error
)

// testNode returns the path of testdata/node, built once for the tests.
func testNode(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "tracerig-launch-test-")
		if buildErr != nil {
			return
		}
		nodeBin = filepath.Join(binDir, "node")
		if out, err := exec.Command("go", "build", "-o", nodeBin, "./testdata/node").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build testdata/node: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return nodeBin
}
