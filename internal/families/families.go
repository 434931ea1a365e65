// Package families lists the upstream API families this build serves, one
// line each; the first is the default. Adding a family is its package and
// its line here (docs/extending.md).
package families

import (
	"github.com/ordergraph/ordergraph/internal/family"
	"github.com/ordergraph/ordergraph/internal/minishop"
	"github.com/ordergraph/ordergraph/internal/wxstore"
)

// All are the families UPSTREAM_FAMILY can name.
var All = family.Set{
	minishop.Family,
	wxstore.Family,
}
