package flex

import (
	"reflect"
	"testing"
)

type point struct {
	X, Y Int
	Tags []string
	Next *point
}

var pointFields = NewFields("x", "y", "tags", "next")

func readPoint(d *Decoder, p *point) error {
	_, err := d.Object(pointFields, func(name string) (err error) {
		switch name {
		case "x":
			p.X, err = d.Int()
		case "y":
			p.Y, err = d.Int()
		case "tags":
			p.Tags, err = List(d, func(d *Decoder, s *string) (err error) {
				*s, err = d.StringValue()
				return err
			})
		case "next":
			err = Optional(d, &p.Next, readPoint)
		}
		return err
	})
	return err
}

// The decoder's rules, each on the smallest document that shows it.
func TestDecoder(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want point
		bad  bool
	}{
		{"numbers and numeric strings", `{"x":1,"y":" 2 "}`, point{X: Int{1, true}, Y: Int{2, true}}, false},
		{"null and empty are unset", `{"x":null,"y":""}`, point{}, false},
		{"names match case-insensitively", `{"X":1,"Y":2}`, point{X: Int{1, true}, Y: Int{2, true}}, false},
		{"unknown members are skipped", `{"z":{"deep":[1,{"a":2}]},"x":3}`, point{X: Int{3, true}}, false},
		{"a repeated member wins", `{"x":1,"x":2}`, point{X: Int{2, true}}, false},
		{"repeated sections merge", `{"next":{"x":1},"next":{"y":2}}`, point{Next: &point{X: Int{1, true}, Y: Int{2, true}}}, false},
		{"null removes a section", `{"next":{"x":1},"next":null}`, point{}, false},
		{"a list as an array", `{"tags":["a","b"]}`, point{Tags: []string{"a", "b"}}, false},
		{"a list as one element", `{"tags":{}}`, point{}, false},
		{"escaped names and strings", `{"\u0078":1,"tags":["\u00e9\n"]}`, point{X: Int{1, true}, Tags: []string{"é\n"}}, false},
		{"a float is no integer", `{"x":1.5}`, point{}, true},
		{"an object is no integer", `{"x":{}}`, point{}, true},
		{"not an object", `[1]`, point{}, true},
		{"trailing data", `{"x":1} {}`, point{}, true},
		{"truncated", `{"x":1`, point{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p point
			err := Decode([]byte(tt.doc), func(d *Decoder) error { return readPoint(d, &p) })
			if (err != nil) != tt.bad {
				t.Fatalf("error %v, want error: %v", err, tt.bad)
			}
			if !tt.bad && !reflect.DeepEqual(p, tt.want) {
				t.Fatalf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

// Plain strings are substrings of one copy of the document, so four more
// strings cost no allocation beyond the list growing once.
func TestStringsShareTheDocument(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	allocs := func(doc string) float64 {
		return testing.AllocsPerRun(100, func() {
			var p point
			if err := Decode([]byte(doc), func(d *Decoder) error { return readPoint(d, &p) }); err != nil {
				t.Fatal(err)
			}
		})
	}
	four := allocs(`{"tags":["alpha","beta","gamma","delta"]}`)
	eight := allocs(`{"tags":["alpha","beta","gamma","delta","epsilon","zeta","eta","theta"]}`)
	if eight-four > 1 {
		t.Errorf("%.0f allocations for four strings, %.0f for eight", four, eight)
	}
}
