package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// An object whose deferred group nothing adds to loses it; one whose
// resolver field may add to it keeps it.
func TestDropDeferredKeepsOnlyGroupsInUse(t *testing.T) {
	src, err := os.ReadFile("testdata/deferred.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := dropDeferred(src)
	if err != nil {
		t.Fatal(err)
	}
	_, file, err := parse(out)
	if err != nil {
		t.Fatal(err)
	}
	decls := methods(file)
	if b := body(t, decls["_Plain"]); strings.Contains(b, "deferred") {
		t.Errorf("_Plain keeps its deferred group:\n%s", b)
	}
	if b := body(t, decls["_Loaded"]); strings.Count(b, "deferred") != 4 {
		t.Errorf("_Loaded lost its deferred group:\n%s", b)
	}
	if _, err := dropDeferred(out); err == nil {
		t.Error("dropDeferred dropped groups from its own output")
	}
}

// undrop gives back to each object marshaller of the committed executor
// without one the deferred group gqlgen writes.
func undrop(src []byte) []byte {
	const newSet = "\tout := graphql.NewFieldSet(fields)\n"
	const handOver = "\tif n := len(deferred.Defers); n > 0 {\n\t\tatomic.AddInt32(&ec.Deferred, int32(min(n, math.MaxInt32)))\n\t\tec.ProcessDeferredGroup(deferred)\n\t}\n\n"
	var out bytes.Buffer
	for rest := src; ; {
		i := bytes.Index(rest, []byte(newSet))
		if i < 0 {
			out.Write(rest)
			return out.Bytes()
		}
		i += len(newSet)
		out.Write(rest[:i])
		rest = rest[i:]
		if bytes.HasPrefix(rest, []byte("\tdeferred := ")) {
			continue
		}
		out.WriteString("\tdeferred := graphql.NewDeferredGroup(ctx)\n")
		j := bytes.Index(rest, []byte("\treturn out\n}\n"))
		out.Write(rest[:j])
		out.WriteString(handOver)
		rest = rest[j:]
	}
}

// The committed executor is gqlgen's without the groups nothing uses: every
// object's, but for those with a resolver field below them.
func TestDropDeferredOfTheSchema(t *testing.T) {
	src := generated(t)
	shaped := undrop(src)
	if n := bytes.Count(shaped, []byte("graphql.NewDeferredGroup(ctx)")); n != 36 {
		t.Fatalf("gqlgen's shape has %d deferred groups, want one for each of the 36 objects", n)
	}
	out, err := dropDeferred(shaped)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, src) {
		t.Fatal("the rewrite of gqlgen's output differs from the committed executor")
	}
	_, file, err := parse(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, fn := range methods(file) {
		b := body(t, fn)
		if strings.Contains(b, "NewDeferredGroup") != strings.Contains(b, "ResolveConcurrently(ec.OperationContext, &deferred") {
			t.Errorf("%s: keeps its deferred group %t, has a field that may add to it %t", name, strings.Contains(b, "NewDeferredGroup"), !strings.Contains(b, "NewDeferredGroup"))
		}
	}
}
