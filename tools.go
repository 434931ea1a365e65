//go:build tools

// Package tools pins the gqlgen generator version in go.mod, so that the
// generator (run through `go run ./cmd/graphgen`) is the same version as the
// runtime library.
package tools

import _ "github.com/99designs/gqlgen"
