// Command graphgen regenerates the GraphQL executor in graph/: gqlgen's own
// generation, then one change to its output.
//
//	go run ./cmd/graphgen
//
// gqlgen marshals every element of a list of objects in a goroutine of its
// own. For an object whose fields are all plain struct reads (no resolver, no
// context), that buys nothing and costs a goroutine, a stack to grow and
// later scan, and a wait per element: every order of orders(ids:) and every
// product line of every order. graphgen makes such lists marshal in place,
// through graph.marshalSliceInline. Lists of objects that do have resolvers
// keep gqlgen's concurrency, which their dataloaders need to batch.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "graphgen:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		return err
	}
	var objects recorder
	if err := api.Generate(cfg, api.AddPlugin(&objects)); err != nil {
		return err
	}
	src, err := os.ReadFile(cfg.Exec.Filename)
	if err != nil {
		return err
	}
	out, n := inlineLists(src, objects.sequential)
	fmt.Printf("graphgen: %d lists of resolver-free objects marshal in place\n", n)
	return os.WriteFile(cfg.Exec.Filename, out, 0o644)
}

// recorder is a gqlgen plugin that only notes which objects have no
// concurrent field.
type recorder struct{ sequential map[string]bool }

func (*recorder) Name() string { return "graphgen-recorder" }

func (r *recorder) GenerateCode(data *codegen.Data) error {
	r.sequential = map[string]bool{}
	for _, o := range data.Objects {
		r.sequential[o.Name] = !o.IsConcurrent()
	}
	return nil
}

const (
	concurrent = "graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, "
	inline     = "marshalSliceInline(ctx, len(v), "
)

// inlineLists rewrites each concurrent list marshal whose element is a
// sequential object. The element's type is read from the marshal function
// the generated closure calls: ec.marshalN<Type>2… or ec.marshalO<Type>2….
func inlineLists(src []byte, sequential map[string]bool) ([]byte, int) {
	var out bytes.Buffer
	n := 0
	for {
		i := bytes.Index(src, []byte(concurrent))
		if i < 0 {
			out.Write(src)
			return out.Bytes(), n
		}
		out.Write(src[:i])
		rest := src[i+len(concurrent):]
		call := rest
		if end := bytes.Index(rest, []byte("\n\t})")); end >= 0 {
			call = rest[:end]
		}
		if sequential[elementType(string(call))] {
			out.WriteString(inline)
			n++
		} else {
			out.WriteString(concurrent)
		}
		src = rest
	}
}

func elementType(closure string) string {
	for _, prefix := range []string{"return ec.marshalN", "return ec.marshalO"} {
		if _, after, ok := strings.Cut(closure, prefix); ok {
			name, _, _ := strings.Cut(after, "2")
			return name
		}
	}
	return ""
}
