package app

import (
	"testing"
	"time"
)

// SetSandboxEventInterval makes the Store sandbox push every d for the rest
// of the test.
func SetSandboxEventInterval(t *testing.T, d time.Duration) {
	was := sandboxPlayInterval
	sandboxPlayInterval = d
	t.Cleanup(func() { sandboxPlayInterval = was })
}
