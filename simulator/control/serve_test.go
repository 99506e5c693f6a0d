package control

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestServeConfigRoundTrip: what the host writes is what the container
// reads, and a default is left out of the command line.
func TestServeConfigRoundTrip(t *testing.T) {
	host := DefaultServeConfig()
	host.Topology, host.Service, host.Instance = "/topology.yaml", "cart", 2
	host.Listen, host.Control = "0.0.0.0:8080", "0.0.0.0:9090"
	host.Peers = map[string][]string{"web": {"web-0:8080", "web-1:8080"}, "cart": {"cart-0:8080"}, "legacy": {"relay:5000"}}
	host.OTLPEndpoint, host.Seed = "backend:4317", 42

	tests := []struct {
		name string
		cfg  ServeConfig
		args string
	}{
		{"defaults", DefaultServeConfig(), ""},
		{"a container's instance", host,
			"--topology /topology.yaml --service cart --instance 2 --listen 0.0.0.0:8080 --control 0.0.0.0:9090 " +
				"--peers cart=cart-0:8080;legacy=relay:5000;web=web-0:8080,web-1:8080 --otlp-endpoint backend:4317 --seed 42"},
		{"no export retries", with(host, func(c *ServeConfig) { c.ExportRetry = 0; c.Seed = 1; c.Instance = 0 }),
			"--topology /topology.yaml --service cart --listen 0.0.0.0:8080 --control 0.0.0.0:9090 " +
				"--peers cart=cart-0:8080;legacy=relay:5000;web=web-0:8080,web-1:8080 --otlp-endpoint backend:4317 --export-retry 0s"},
		{"an odd retry", with(DefaultServeConfig(), func(c *ServeConfig) { c.ExportRetry = 1500*time.Millisecond + time.Nanosecond }),
			"--export-retry 1.500000001s"},
		{"a service without an address", with(DefaultServeConfig(), func(c *ServeConfig) { c.Peers = map[string][]string{"web": {""}} }),
			"--peers web="},
		{"conformance", with(DefaultServeConfig(), func(c *ServeConfig) { c.Conformance = "127.0.0.1:0" }),
			"--conformance 127.0.0.1:0"},
		{"a run on a shared backend", with(DefaultServeConfig(), func(c *ServeConfig) {
			c.RunID, c.IsolateIDs, c.ResourceAttributes = "7e4e722a22eb0da4", true, "team=checkout,note=a%2Cb"
		}),
			"--run-id 7e4e722a22eb0da4 --isolate-ids --resource-attributes team=checkout,note=a%2Cb"},
		{"a big seed", with(DefaultServeConfig(), func(c *ServeConfig) { c.Seed = 1<<64 - 1 }),
			"--seed 18446744073709551615"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.cfg.Args()
			if got := strings.Join(args, " "); got != tt.args {
				t.Errorf("Args:\n got %s\nwant %s", got, tt.args)
			}
			got, err := ParseServe(args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.cfg) {
				t.Errorf("ParseServe(Args()) = %+v, want %+v", got, tt.cfg)
			}
		})
	}
}

func with(c ServeConfig, edit func(*ServeConfig)) ServeConfig {
	c.Peers = clonePeers(c.Peers)
	edit(&c)
	return c
}

func clonePeers(p map[string][]string) map[string][]string {
	if p == nil {
		return nil
	}
	out := map[string][]string{}
	for k, v := range p {
		out[k] = slices.Clone(v)
	}
	return out
}

func TestParseServeErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--peers", "web"}, `--peers: "web": want svc=host:port,host:port`},
		{[]string{"--peers", "=a:1"}, `--peers: "=a:1": want svc=host:port,host:port`},
		{[]string{"--peers", "web=nohostport"}, "--peers: web: address nohostport: missing port in address"},
		{[]string{"--seed", "-1"}, `parse serve flags: invalid value "-1" for flag -seed`},
		{[]string{"--nope"}, "parse serve flags: flag provided but not defined: -nope"},
		{[]string{"--service", "web", "extra"}, "parse serve flags: unexpected arguments: extra"},
	}
	for _, tt := range tests {
		_, err := ParseServe(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseServe(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestParsePeers(t *testing.T) {
	tests := []struct {
		in   string
		want map[string][]string
	}{
		{"", nil},
		{" ; ", nil},
		{"web=web-0:8080,web-1:8080; stock=stock-0:8080;", map[string][]string{"web": {"web-0:8080", "web-1:8080"}, "stock": {"stock-0:8080"}}},
		{"web=", map[string][]string{"web": {""}}},
	}
	for _, tt := range tests {
		got, err := parsePeers(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parsePeers(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestServeValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ServeConfig
		ok   bool
	}{
		{"topology and service", ServeConfig{Topology: "t.yaml", Service: "web"}, true},
		{"conformance alone", ServeConfig{Conformance: ":0"}, true},
		{"no service", ServeConfig{Topology: "t.yaml"}, false},
		{"nothing", DefaultServeConfig(), false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}

func TestBackendConfigRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cfg  BackendConfig
		args string
	}{
		{"defaults", DefaultBackendConfig(), ""},
		{"a container's backend", BackendConfig{GRPCAddr: "0.0.0.0:4317", HTTPAddr: "0.0.0.0:4318"},
			"--grpc-addr 0.0.0.0:4317 --http-addr 0.0.0.0:4318 --interval 0s"},
		{"an odd interval", BackendConfig{GRPCAddr: "127.0.0.1:4317", HTTPAddr: "127.0.0.1:4318", Interval: 1500 * time.Millisecond},
			"--interval 1.5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.cfg.Args()
			if got := strings.Join(args, " "); got != tt.args {
				t.Errorf("Args:\n got %s\nwant %s", got, tt.args)
			}
			got, err := ParseBackend(args)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.cfg {
				t.Errorf("ParseBackend(Args()) = %+v, want %+v", got, tt.cfg)
			}
		})
	}
}

func TestRelayConfigRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cfg  RelayConfig
		args string
	}{
		{"defaults", DefaultRelayConfig(), ""},
		{"two targets", RelayConfig{Listen: []string{"0.0.0.0:4317", "0.0.0.0:5000"}, Tunnel: "0.0.0.0:4320"},
			"--listen 0.0.0.0:4317,0.0.0.0:5000 --tunnel 0.0.0.0:4320"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.cfg.Args()
			if got := strings.Join(args, " "); got != tt.args {
				t.Errorf("Args:\n got %s\nwant %s", got, tt.args)
			}
			got, err := ParseRelay(args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.cfg) {
				t.Errorf("ParseRelay(Args()) = %+v, want %+v", got, tt.cfg)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"backend flag", func() error { _, err := ParseBackend([]string{"--interval", "soon"}); return err }(), `parse backend flags: invalid value "soon" for flag -interval`},
		{"backend argument", func() error { _, err := ParseBackend([]string{"extra"}); return err }(), "parse backend flags: unexpected arguments: extra"},
		{"relay flag", func() error { _, err := ParseRelay([]string{"--nope"}); return err }(), "parse relay flags: flag provided but not defined: -nope"},
	} {
		if tt.err == nil || !strings.HasPrefix(tt.err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to start with %q", tt.name, tt.err, tt.want)
		}
	}
}
