package input_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/input"
)

// named lists the inputs of the *input.Error members of a joined err, in order.
func named(err error) []string {
	var out []string
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	for _, e := range j.Unwrap() {
		if ie, ok := e.(*input.Error); ok {
			out = append(out, ie.Input)
		} else {
			out = append(out, "other: "+e.Error())
		}
	}
	return out
}

func TestMerge(t *testing.T) {
	t.Parallel()
	interval := input.Invalid("interval", "soon", "is not a duration")
	zero := input.Invalid("interval", "0s", "must be at least 100ms")
	steps := input.Invalid("steps", "5,120", "weight 120 is outside 1..100")
	other := errors.New("provider exploded")
	cases := []struct {
		name  string
		first error
		more  []error
		want  []string // nil: Merge returns nil
	}{
		{"nothing", nil, []error{nil, nil}, nil},
		{"first only", interval, nil, []string{"interval"}},
		{"more only", nil, []error{steps}, []string{"steps"}},
		{"a problem with an input already named is dropped", interval, []error{errors.Join(zero, steps)}, []string{"interval", "steps"}},
		{"only input errors are dropped", interval, []error{other}, []string{"interval", "other: provider exploded"}},
		{"wrapped problems are kept", interval, []error{fmt.Errorf("ctx: %w", zero)}, []string{"interval", "other: ctx: " + zero.Error()}},
		{"nested joins are flattened", errors.Join(errors.Join(steps), interval), []error{errors.Join(errors.Join(zero))}, []string{"steps", "interval"}},
		{"everything dropped but first", interval, []error{zero, zero}, []string{"interval"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := input.Merge(c.first, c.more...)
			if (err == nil) != (c.want == nil) {
				t.Fatalf("Merge = %v, want problems %v", err, c.want)
			}
			if got := named(err); err != nil && !slices.Equal(got, c.want) {
				t.Errorf("Merge lists %q, want %q", got, c.want)
			}
		})
	}
}

func TestErrorNamesInputAndValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want string
	}{
		{input.Invalid("steps", "5,120", "weight %d is outside 1..100", 120), `input "steps": weight 120 is outside 1..100 (value "5,120")`},
		{input.Missing("image"), `input "image": is required`},
		{input.At("ramp.yaml:3:10", "interval", "soon", "is not a duration"), `ramp.yaml:3:10: input "interval": is not a duration (value "soon")`},
		{input.At("ramp.yaml:1:1", "stpes", "", "is not a ramp option"), `ramp.yaml:1:1: input "stpes": is not a ramp option`},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
		if !input.Is(fmt.Errorf("wrapped: %w", c.err)) {
			t.Errorf("Is(%v) = false through a wrapper", c.err)
		}
	}
	if input.Is(errors.New("plain")) {
		t.Error("Is(plain error) = true")
	}
}

// TestLocate: every input error without a place gets the one where says,
// through errors.Join and wrapping; one with a place keeps it; the errors
// given are not changed.
func TestLocate(t *testing.T) {
	t.Parallel()
	placed := input.At("a.yaml:1:1", "steps", "x", "bad")
	err := errors.Join(input.Invalid("interval", "soon", "bad"), fmt.Errorf("wrapped: %w", input.Missing("bake")),
		placed, input.Invalid("provider", "", "bad"), errors.New("plain"))
	where := map[string]string{"interval": "ramp.yaml:2:3", "bake": "ramp.yaml:4:5", "steps": "ramp.yaml:9:9"}
	got := input.Locate(err, func(name string) string { return where[name] }).Error()
	want := `ramp.yaml:2:3: input "interval": bad (value "soon")
ramp.yaml:4:5: wrapped: input "bake": is required
a.yaml:1:1: input "steps": bad (value "x")
input "provider": bad
plain`
	if got != want {
		t.Errorf("located:\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(err.Error(), `input "interval"`) {
		t.Errorf("Locate changed the error it was given: %v", err)
	}
}
