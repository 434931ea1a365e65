package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The checker catches what it is there for: each case breaks a copy of the
// base one way.
func TestCheckerFails(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"a misspelt field", "deployment.yaml", "timeoutSeconds: 3", "timeoutSecond: 3", "unknown field"},
		{"a field at the wrong level", "deployment.yaml", "      automountServiceAccountToken: false", "      automountServiceAccountToken: false\n      readOnlyRootFilesystem: true", "unknown field"},
		{"a kind it does not know", "service.yaml", "kind: Service", "kind: Ingress", "unknown kind"},
		{"a probe on another path", "deployment.yaml", "path: /readyz", "path: /healthz", "readiness probe does not GET /readyz"},
		{"root", "deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"a writable root filesystem", "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "read-only"},
		{"a grace period shorter than the drain", "deployment.yaml", "terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 25", "terminationGracePeriodSeconds"},
		{"a longer drain", "kustomization.yaml", "SHUTDOWN_TIMEOUT=20s", "SHUTDOWN_TIMEOUT=40s", "terminationGracePeriodSeconds"},
		{"no preStop pause", "deployment.yaml", "            preStop:\n              sleep:\n                seconds: 5\n", "            postStart:\n              sleep:\n                seconds: 5\n", "no preStop sleep"},
		{"a Service on another port", "service.yaml", "targetPort: http", "targetPort: 9090", "is not the container's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, "../base")
			path := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.old) {
				t.Fatalf("%s has no %q to break", tc.file, tc.old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = check(dir, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestManifestsPass(t *testing.T) {
	for _, target := range targets {
		if _, err := check(target.dir, target.withSecret); err != nil {
			t.Errorf("%s: %v", target.dir, err)
		}
	}
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}
