package topology

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLaunchedNodes(t *testing.T) {
	topo, err := LoadTopology("testdata/launch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkout := topo.Service("checkout")
	want := &Launch{
		Image:    "registry.example/checkout:1.4",
		Command:  []string{"--listen", ":8080"},
		Env:      []EnvVar{{"LOG_LEVEL", "debug"}, {"API_TOKEN", "${CHECKOUT_TOKEN}"}},
		Port:     8080,
		Wait:     Wait{HTTP: "/healthz", Timeout: 20 * time.Second, Pos: checkout.Launch.Wait.Pos},
		CallsEnv: []EnvVar{{"inventory", "INVENTORY_URL"}},
		Pos:      checkout.Launch.Pos,
	}
	if !reflect.DeepEqual(checkout.Launch, want) {
		t.Errorf("checkout's launch:\n got %+v\nwant %+v", checkout.Launch, want)
	}
	if !checkout.IsExternal() || !checkout.IsLaunched() || !checkout.Launch.IsImage() || checkout.ExternalAddr() != "" {
		t.Errorf("checkout is an image node of the user's: external %v, launched %v, addr %q", checkout.IsExternal(), checkout.IsLaunched(), checkout.ExternalAddr())
	}
	if len(checkout.Downstream) != 1 || checkout.Downstream[0].Service != "inventory" {
		t.Errorf("checkout's downstream calls: %+v", checkout.Downstream)
	}
	legacy := topo.Service("legacy").Launch
	if legacy.IsImage() || legacy.Port != 0 || legacy.Wait.Log != "ready" || legacy.Wait.Timeout != DefaultWaitTimeout {
		t.Errorf("legacy's launch: %+v", legacy)
	}
	if topo.Service("mainframe").ExternalAddr() != "" {
		t.Error("an external URL that holds a reference has no address before it is expanded")
	}
}

func TestExpandAddresses(t *testing.T) {
	topo, err := LoadTopology("testdata/launch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MAINFRAME_URL": "http://127.0.0.1:9100"}
	got, err := topo.Expand(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Service("mainframe").ExternalAddr(); a != "127.0.0.1:9100" {
		t.Errorf("expanded mainframe at %q", a)
	}
	if topo.Service("mainframe").External != "${MAINFRAME_URL}" {
		t.Error("Expand changed the topology it was given")
	}
	if got.Service("checkout") != topo.Service("checkout") {
		t.Error("a service without references was copied")
	}
	for _, tc := range []struct{ value, want string }{
		{"", "services.mainframe.external: environment variable MAINFRAME_URL is not set"},
		{"http://10.1.2.3:80", `services.mainframe.external: host "10.1.2.3" is not a loopback address`},
		{"127.0.0.1:9100", `services.mainframe.external: invalid URL "127.0.0.1:9100"`},
	} {
		env["MAINFRAME_URL"] = tc.value
		_, err := topo.Expand(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "testdata/launch.yaml:29:15:") {
			t.Errorf("MAINFRAME_URL=%q: %v, want %q at 29:15", tc.value, err, tc.want)
		}
	}
}
