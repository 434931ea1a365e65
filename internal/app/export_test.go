package app

import (
	"testing"
	"time"
)

// SetSandboxEventInterval makes the Store sandbox push every d for the rest
// of the test.
func SetSandboxEventInterval(t *testing.T, d time.Duration) {
	was := sandboxEventInterval
	sandboxEventInterval = d
	t.Cleanup(func() { sandboxEventInterval = was })
}
