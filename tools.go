//go:build tools

// Package tools pins the gqlgen generator version in go.mod, so that
// `go run github.com/99designs/gqlgen generate` uses the same version as the
// runtime library.
package tools

import _ "github.com/99designs/gqlgen"
