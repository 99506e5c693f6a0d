// Package nginxtest runs Debian's nginx, for tests, as a reverse proxy
// that terminates TLS and requires HTTP basic authentication in front of
// an HTTP server: the way a query API sits behind a vendor's ingress. It
// runs as the current user, everything (config, logs, pid, temp files) in
// the test's temporary folder.
package nginxtest

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names the variable that turns a missing nginx from a skipped
// test into a failed one, as CI sets it.
const RequireEnv = "TRACERIG_REQUIRE_NGINX"

// Config is what the proxy forwards to and how it guards it.
type Config struct {
	// Upstream is the base URL requests are passed to, like
	// http://127.0.0.1:16686.
	Upstream string
	// CertFile and KeyFile are the server's certificate and key (PEM).
	CertFile, KeyFile string
	// Users maps each user name to its password; at least one.
	Users map[string]string
}

// Proxy is a running nginx.
type Proxy struct {
	// URL is the proxy's base URL, https://127.0.0.1:PORT.
	URL string
	dir string
}

// Binary returns the nginx executable, or skips the test when there is
// none, unless RequireEnv is set, in which case it fails the test.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s is set but nginx is not installed (apt-get install nginx-light)", RequireEnv)
	}
	t.Skip("nginx is not installed (apt-get install nginx-light) to run this test")
	return ""
}

// Start starts nginx with cfg on a free loopback port and stops it at the
// test's cleanup. It returns once the port accepts connections.
func Start(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(dir, addr, cfg); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", errLog, "-g", "daemon off;")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { stop(cmd, exited) })
	if err := await(addr, exited, &waitErr); err != nil {
		log, _ := os.ReadFile(errLog)
		t.Fatalf("nginx on %s: %v\n%s", addr, err, log)
	}
	return &Proxy{URL: "https://" + addr, dir: dir}
}

// Log returns what nginx wrote to its error log.
func (p *Proxy) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "error.log"))
	return string(b)
}

const confTemplate = `%s
worker_processes 1;
pid %[2]s/nginx.pid;
events { worker_connections 64; }
http {
  access_log %[2]s/access.log;
  client_body_temp_path %[2]s/tmp/body;
  proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fastcgi;
  uwsgi_temp_path %[2]s/tmp/uwsgi;
  scgi_temp_path %[2]s/tmp/scgi;
  server {
    listen %[3]s ssl;
    ssl_certificate %[4]s;
    ssl_certificate_key %[5]s;
    auth_basic "tracerig";
    auth_basic_user_file %[2]s/htpasswd;
    location / {
      proxy_pass %[6]s;
    }
  }
}
`

// writeFiles writes nginx.conf and htpasswd ({SHA} entries) into dir.
func writeFiles(dir, addr string, cfg Config) error {
	if len(cfg.Users) == 0 {
		return errors.New("nginxtest: at least one user is required")
	}
	var pw strings.Builder
	for user, pass := range cfg.Users {
		sum := sha1.Sum([]byte(pass))
		fmt.Fprintf(&pw, "%s:{SHA}%s\n", user, base64.StdEncoding.EncodeToString(sum[:]))
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(pw.String()), 0o600); err != nil {
		return fmt.Errorf("nginxtest: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return fmt.Errorf("nginxtest: %w", err)
	}
	user := "" // nginx started by root drops its workers to nobody, who cannot read dir
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(confTemplate, user, dir, addr, cfg.CertFile, cfg.KeyFile, strings.TrimRight(cfg.Upstream, "/"))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("nginxtest: %w", err)
	}
	return nil
}

// await returns once addr accepts connections, or nginx exited, or 30s
// passed (a liveness bound, not a timing).
func await(addr string, exited <-chan struct{}, waitErr *error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			return c.Close()
		}
		select {
		case <-exited:
			return fmt.Errorf("nginx exited: %v", *waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("nginx did not listen within 30s")
		}
	}
}

// stop ends nginx and its workers: SIGTERM to its process group, SIGKILL
// when that is not enough.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	pgid := -cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-exited
	}
	syscall.Kill(pgid, syscall.SIGKILL) // workers that outlived the master
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("nginxtest: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
