package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/ramp-deploy/ramp/internal/input"
)

// FuzzConfigFile feeds arbitrary text to the configuration file's decoder.
// It never panics; every problem is an input error placed in the file
// (name:line:column, or the name alone); every value it keeps is a known
// option's, non-empty, placed in the file, and a list's entries are
// non-empty.
func FuzzConfigFile(f *testing.F) {
	f.Add("service: web\nsteps: [10, pause, 100]\nenvironments:\n  staging:\n    interval: 30s\n")
	f.Add("env:\n  - A=1\n  - B=2\nwait-bake: true\nalpha: 0.05\nmax-error-rate: 5%\n")
	f.Add("interval: &a 1m\nbake: *a\n<<: {x: 1}\nservice: !!str 1\n")
	f.Add("steps: [10, 50\n")
	f.Add("a: 1\n---\nb: 2\n")
	f.Fuzz(func(t *testing.T, text string) {
		c := decodeFile("ramp.yaml", []byte(text))
		for _, err := range c.errs {
			ie, ok := errors.AsType[*input.Error](err)
			if !ok || (ie.Where != "ramp.yaml" && !strings.HasPrefix(ie.Where, "ramp.yaml:")) {
				if !ok || !strings.Contains(err.Error(), "is not valid YAML") {
					t.Fatalf("problem %v is not an input error placed in the file", err)
				}
			}
		}
		check := func(section map[string]setting) {
			for name, s := range section {
				o, ok := Lookup(name)
				if !ok || s.raw == "" || !strings.HasPrefix(s.at, "ramp.yaml") {
					t.Fatalf("kept %s = %+v", name, s)
				}
				if o.List && strings.Contains(","+s.raw+",", ",,") {
					t.Fatalf("list %s = %q has an empty entry", name, s.raw)
				}
			}
		}
		check(c.top)
		for _, env := range c.envs {
			check(env)
		}
	})
}
