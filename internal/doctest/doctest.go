// Package doctest reads the README's tables for the tests that hold the
// documentation to the code (settings, error codes), so that a table and
// the definition it documents cannot drift apart.
package doctest

import (
	"os"
	"strings"
	"testing"
)

// Rows returns the cells of the table rows under the "## heading" section
// of the Markdown file at path whose first cell is code (starts with a
// backtick), trimmed.
func Rows(tb testing.TB, path, heading string) [][]string {
	tb.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	_, section, ok := strings.Cut(string(text), "\n## "+heading+"\n")
	if !ok {
		tb.Fatalf("%s has no %q section", path, "## "+heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows [][]string
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}
