package graph

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// contractPath is the public contract. The repository keeps its own copy in
// testdata, so a bare clone tests itself; CONTRACT_SCHEMA checks the served
// schema against another copy (CI uses it for the shared one when present).
func contractPath() string {
	if p := os.Getenv("CONTRACT_SCHEMA"); p != "" {
		return p
	}
	return "testdata/contract.graphqls"
}

func loadSchema(t *testing.T, name, text string) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: name, Input: text})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (set CONTRACT_SCHEMA to the contract's path)", err)
	}
	return string(b)
}

// TestServedSchemaHonoursContract fails, naming each difference, when the
// served schema drops or loosens anything of the public contract.
func TestServedSchemaHonoursContract(t *testing.T) {
	contract := loadSchema(t, "contract", readFile(t, contractPath()))
	served := loadSchema(t, "served", readFile(t, "../schema.graphqls"))
	for _, problem := range incompatibilities(contract, served) {
		t.Error(problem)
	}
}

// The checker itself must catch each kind of break.
func TestContractCheckerCatchesBreaks(t *testing.T) {
	const base = `scalar DateTime
type Query { order(id: ID!): Order  orders(ids: [ID!]!): [Order]! }
type Order { id: ID!  note: String  tags: [String!]!  when: DateTime  status: S! }
enum S { A B }`
	contract := loadSchema(t, "contract", base)
	if p := incompatibilities(contract, loadSchema(t, "same", base)); len(p) > 0 {
		t.Fatalf("identical schemas reported: %v", p)
	}
	stricter := strings.NewReplacer("note: String", "note: String!", "order(id: ID!): Order", "order(id: ID!, extra: Int): Order!").Replace(base)
	if p := incompatibilities(contract, loadSchema(t, "stricter", stricter)); len(p) > 0 {
		t.Fatalf("a stricter output or a new optional argument was reported: %v", p)
	}
	breaks := map[string][2]string{
		"missing field":         {"note: String", ""},
		"nullable output":       {"Order { id: ID!", "Order { id: ID"},
		"nullable list item":    {"tags: [String!]!", "tags: [String]!"},
		"other type":            {"when: DateTime", "when: String"},
		"missing enum value":    {"enum S { A B }", "enum S { A }"},
		"missing type":          {"scalar DateTime", "scalar Other"},
		"stricter argument":     {"orders(ids: [ID!]!)", "orders(ids: [ID!]!, limit: Int!)"},
		"argument of new type":  {"order(id: ID!)", "order(id: String!)"},
		"list becomes non-list": {"tags: [String!]!", "tags: String!"},
	}
	for name, r := range breaks {
		broken := strings.Replace(base, r[0], r[1], 1)
		if r[0] == "scalar DateTime" {
			broken = strings.ReplaceAll(broken, "DateTime", "Other")
		}
		if p := incompatibilities(contract, loadSchema(t, name, broken)); len(p) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}

// incompatibilities lists how served fails to be a compatible superset of
// contract: every contract type, field, argument and enum value must exist;
// output types may only be stricter; argument types must accept at least
// what the contract's accept, and new arguments must be optional.
func incompatibilities(contract, served *ast.Schema) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for name, ct := range contract.Types {
		if ct.BuiltIn {
			continue
		}
		st := served.Types[name]
		if st == nil {
			add("type %s is missing", name)
			continue
		}
		if st.Kind != ct.Kind {
			add("type %s is a %s, the contract has a %s", name, st.Kind, ct.Kind)
			continue
		}
		for _, v := range ct.EnumValues {
			if st.EnumValues.ForName(v.Name) == nil {
				add("enum value %s.%s is missing", name, v.Name)
			}
		}
		for _, cf := range ct.Fields {
			if strings.HasPrefix(cf.Name, "__") {
				continue
			}
			sf := st.Fields.ForName(cf.Name)
			if sf == nil {
				add("field %s.%s is missing", name, cf.Name)
				continue
			}
			if !outputCompatible(cf.Type, sf.Type) {
				add("field %s.%s has type %s, the contract has %s", name, cf.Name, sf.Type, cf.Type)
			}
			for _, ca := range cf.Arguments {
				sa := sf.Arguments.ForName(ca.Name)
				if sa == nil {
					add("argument %s.%s(%s:) is missing", name, cf.Name, ca.Name)
				} else if !inputCompatible(ca.Type, sa.Type) {
					add("argument %s.%s(%s:) has type %s, the contract has %s", name, cf.Name, ca.Name, sa.Type, ca.Type)
				}
			}
			for _, sa := range sf.Arguments {
				if cf.Arguments.ForName(sa.Name) == nil && sa.Type.NonNull && sa.DefaultValue == nil {
					add("argument %s.%s(%s:) is new and required", name, cf.Name, sa.Name)
				}
			}
		}
	}
	return problems
}

// outputCompatible: served may add non-null, nothing else.
func outputCompatible(contract, served *ast.Type) bool {
	if contract.NonNull && !served.NonNull {
		return false
	}
	if (contract.Elem == nil) != (served.Elem == nil) {
		return false
	}
	if contract.Elem != nil {
		return outputCompatible(contract.Elem, served.Elem)
	}
	return contract.NamedType == served.NamedType
}

// inputCompatible: served may drop non-null, nothing else.
func inputCompatible(contract, served *ast.Type) bool {
	return outputCompatible(served, contract)
}
