package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/ordergraph/ordergraph/internal/config"
)

// version is stamped at build time (go build -ldflags "-X
// github.com/ordergraph/ordergraph/internal/app.version=v1.2.3"); the
// Dockerfile and CI do.
var version string

// Version is the stamped version; unstamped, the VCS revision the go
// command recorded (a build inside a git checkout), else "dev".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "dev"
	}
	if modified == "true" {
		revision += "-dirty"
	}
	return revision
}

// healthcheckTimeout bounds the whole check: a container runtime kills a
// check that outlives its own timeout, and says less about why.
const healthcheckTimeout = 3 * time.Second

// healthcheck is the container image's HEALTHCHECK: the image has no shell
// or curl, so the binary asks its own server for GET /healthz on ADDR. It
// returns 0 on a 200, else 1.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "healthcheck: unexpected argument %q (it reads ADDR)\n", args[0])
		return 2
	}
	addr := getenv("ADDR")
	if addr == "" {
		addr = config.Defaults().Addr
	}
	url, err := healthzURL(addr)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: ADDR %s: %v\n", addr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: GET %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}

// healthzURL is where a process beside the server reaches /healthz: a
// listen address with no host or a wildcard one (":8080", "0.0.0.0:8080")
// is reached on loopback.
func healthzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("port %q names no fixed port to check", port)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
