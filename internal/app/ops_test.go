package app_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordergraph/ordergraph/internal/app"
)

func TestVersionFlag(t *testing.T) {
	run := func() (int, string) {
		var out bytes.Buffer
		code := app.Run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, io.Discard)
		return code, out.String()
	}
	// A test binary is not stamped and carries no VCS revision.
	if code, out := run(); code != 0 || out != "dev\n" {
		t.Errorf("unstamped: exit %d, printed %q; want 0 and %q", code, out, "dev\n")
	}
	app.SetVersion(t, "v1.2.3")
	if code, out := run(); code != 0 || out != "v1.2.3\n" {
		t.Errorf("stamped: exit %d, printed %q; want 0 and %q", code, out, "v1.2.3\n")
	}
}

func TestHealthcheck(t *testing.T) {
	serving := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	healthy := serving(http.StatusOK)
	_, port, _ := net.SplitHostPort(healthy)
	// A port nothing listens on: one that was just free.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name, addr string
		want       int
	}{
		{"healthy", healthy, 0},
		{"a listen address with no host is checked on loopback", ":" + port, 0},
		{"so is a wildcard one", "0.0.0.0:" + port, 0},
		{"not 200", serving(http.StatusServiceUnavailable), 1},
		{"nothing listening", closed, 1},
		{"no fixed port", "127.0.0.1:0", 1},
		{"not an address", "localhost", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			env := map[string]string{"ADDR": tc.addr}
			code := app.Run(context.Background(), []string{"healthcheck"}, func(k string) string { return env[k] }, io.Discard, &stderr)
			if code != tc.want {
				t.Errorf("ADDR=%s: exit %d, want %d (stderr %q)", tc.addr, code, tc.want, stderr.String())
			}
			if tc.want != 0 && !strings.HasPrefix(stderr.String(), "healthcheck: ") {
				t.Errorf("ADDR=%s: stderr %q does not say why", tc.addr, stderr.String())
			}
		})
	}
}
