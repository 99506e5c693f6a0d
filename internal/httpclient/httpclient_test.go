package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/testcerts"
)

// TestClient sends requests through Client to a real TLS server that
// echoes the credentials it received.
func TestClient(t *testing.T) {
	certs, err := testcerts.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcerts.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cfg        Config
		clientAuth bool
		want       string // the echo; "" when the request must fail
		wantErr    string
	}{
		{"CA, bearer and any header", Config{TLS: otlpconf.TLSFiles{CAFile: certs.CAFile},
			Headers: []otlpconf.Header{{Key: "Authorization", Value: "Bearer t0k"}, {Key: "x-scope-orgid", Value: "acme"}}},
			false, "auth=Bearer t0k org=acme", ""},
		{"basic auth", Config{TLS: otlpconf.TLSFiles{CAFile: certs.CAFile}, BasicAuth: &BasicAuth{"reader", "p4ss"}},
			false, "auth=Basic cmVhZGVyOnA0c3M= org=", ""},
		{"mTLS", Config{TLS: otlpconf.TLSFiles{CAFile: certs.CAFile, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}},
			true, "auth= org= client=tracerig", ""},
		{"mTLS without a client certificate", Config{TLS: otlpconf.TLSFiles{CAFile: certs.CAFile}}, true, "", "certificate required"},
		{"wrong CA", Config{TLS: otlpconf.TLSFiles{CAFile: other.CAFile}}, false, "", "x509: certificate signed by unknown authority"},
		{"insecure skip verify", Config{InsecureSkipVerify: true}, false, "auth= org=", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := echoServer(t, certs, tt.clientAuth)
			c, err := tt.cfg.Client()
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			got, err := fetch(c, url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("server saw %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		status            int
		contentType, body string
		want              string
	}{
		{http.StatusUnauthorized, "text/html", "<html>401</html>", "jaeger query at https://proxy.example/api/services answered 401 Unauthorized: check backend.query.basic-auth / headers"},
		{http.StatusForbidden, "", "", "jaeger query at https://proxy.example/api/services answered 403 Forbidden: check backend.query.basic-auth / headers"},
		{http.StatusUnauthorized, "text/plain; charset=utf-8", "tenant not found\nmore", "jaeger query at https://proxy.example/api/services answered 401 Unauthorized (tenant not found): check backend.query.basic-auth / headers"},
		{http.StatusOK, "", "", ""},
		{http.StatusNotFound, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Status: fmt.Sprintf("%d %s", tt.status, http.StatusText(tt.status)),
				Header: http.Header{"Content-Type": {tt.contentType}}, Body: io.NopCloser(strings.NewReader(tt.body))}
			err := Refused("jaeger query", "https://user:hunter2@proxy.example/api/services", resp)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Refused = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStringShowsNoCredential(t *testing.T) {
	c := Config{TLS: otlpconf.TLSFiles{CAFile: "ca.pem"}, Headers: []otlpconf.Header{{Key: "authorization", Value: "Bearer s3cret"}},
		BasicAuth: &BasicAuth{"reader", "hunter2"}}
	s := c.String()
	if strings.Contains(s, "s3cret") || strings.Contains(s, "hunter2") || strings.Contains(s, "reader") {
		t.Errorf("String() = %q shows a credential", s)
	}
	if want := "CA ca.pem, headers authorization, basic auth"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
}

// echoServer starts a TLS server with the test certificates that answers
// with the Authorization and X-Scope-OrgID headers it received and the
// client certificate's name, requiring one when clientAuth is set.
func echoServer(t *testing.T, certs *testcerts.Set, clientAuth bool) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "auth=%s org=%s", r.Header.Get("Authorization"), r.Header.Get("X-Scope-OrgID"))
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			fmt.Fprintf(w, " client=%s", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
	}))
	cert, err := tls.LoadX509KeyPair(certs.ServerCert, certs.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientAuth {
		pem, err := os.ReadFile(certs.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		srv.TLS.ClientCAs, srv.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func fetch(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
