package config_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ramp-deploy/ramp/internal/config"
)

var update = flag.Bool("update", false, "rewrite schema/ramp.schema.json from config.Options")

// repoFile is the path of a file of the repository, two levels up.
func repoFile(name string) string { return filepath.Join("..", "..", filepath.FromSlash(name)) }

// TestSchemaMatchesOptions is the drift test: schema/ramp.schema.json is
// what config.JSONSchema makes of config.Options. After changing an
// option, regenerate it with
//
//	go test ./internal/config -run TestSchemaMatchesOptions -update
func TestSchemaMatchesOptions(t *testing.T) {
	path := repoFile(config.SchemaPath)
	if *update {
		if err := os.WriteFile(path, config.JSONSchema(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, config.JSONSchema()) {
		t.Errorf("%s differs from config.JSONSchema(); regenerate with:\n  go test ./internal/config -run TestSchemaMatchesOptions -update", config.SchemaPath)
	}
}

// compileSchema compiles the generated schema with a JSON Schema validator.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(config.JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(config.SchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(config.SchemaURL)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// validateYAML validates a YAML text against the schema, as an editor does.
func validateYAML(t *testing.T, s *jsonschema.Schema, text string) error {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatalf("YAML to JSON: %v", err)
	}
	return s.Validate(v)
}

// loadText decodes text as ramp.yaml with the real loader and parser.
func loadText(t *testing.T, text string, args ...string) (config.Values, error) {
	t.Helper()
	// Keys are secrets, never in the file: an example choosing Datadog
	// takes them from Datadog's variables, as a CI job would.
	keys := map[string]string{"DD_API_KEY": "example-api-key", "DD_APP_KEY": "example-app-key"}
	v, _, err := loadFile(t, inDir(t, map[string]string{"ramp.yaml": text}), args, keys)
	return v, err
}

// readmeExamples returns the ramp.yaml examples of README.md: the yaml
// code blocks that start with the schema line for editors.
func readmeExamples(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(repoFile("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	blocks := strings.Split(string(data), "```yaml\n")
	for _, b := range blocks[1:] {
		body, _, ok := strings.Cut(b, "```")
		if ok && strings.HasPrefix(body, "# yaml-language-server: $schema=") {
			out = append(out, body)
		}
	}
	return out
}

// TestREADMEExamples: every ramp.yaml example in README.md names the
// published schema, validates against it, and loads and parses with the
// real loader without a problem.
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	examples := readmeExamples(t)
	if len(examples) < 2 {
		t.Fatalf("found %d ramp.yaml examples in README.md (yaml blocks starting with the schema line), want at least 2", len(examples))
	}
	for i, ex := range examples {
		first, _, _ := strings.Cut(ex, "\n")
		if first != "# yaml-language-server: $schema="+config.SchemaURL {
			t.Errorf("example %d: schema line %q, want the published schema %s", i+1, first, config.SchemaURL)
		}
		if err := validateYAML(t, s, ex); err != nil {
			t.Errorf("example %d does not validate against the schema: %v\n%s", i+1, err, ex)
		}
		v, err := loadText(t, ex)
		if err != nil {
			t.Errorf("example %d does not load: %v\n%s", i+1, err, ex)
		}
		if v.File.Path != "ramp.yaml" {
			t.Errorf("example %d: file %q was read", i+1, v.File.Path)
		}
	}
}

// TestSchemaAgreesWithTheLoader: what the loader refuses, editors flag;
// what it reads, they accept.
func TestSchemaAgreesWithTheLoader(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	cases := []struct {
		text string
		ok   bool
	}{
		{"service: web\ncpu: 0.5\nproject: 123456\n", true},
		{"steps: [5, pause, 100]\nhold: [30s, 1m, 0s]\n", true},
		{"steps: 10,50,100\ncompare: errors\n", true},
		{"max-error-rate: 5%\nalpha: 0.05\nprobe-success-ratio: 99\n", true},
		{"wait-bake: true\nbake: 1h30m\n", true},
		{"environments:\n  staging:\n    interval: 30s\n  production:\n", true},
		{"stpes: [10]\n", false},
		{"failure-threshold: two\n", false},
		{"failure-threshold: 2.5\n", false},
		{"wait-bake: yes\n", false},
		{"interval: 30\n", false},
		{"interval: soon\n", false},
		{"alpha: \"0.01\"\n", false},
		{"service: true\n", false},
		{"service: {name: web}\n", false},
		{"interval: [1m]\n", false},
		{"steps: [10, [50]]\n", false},
		{"steps: [10, true]\n", false},
		{"steps: [10, soon]\n", false},
		{"github-token: x\n", false},
		{"config: other.yaml\n", false},
		{"environments: [staging]\n", false},
		{"environments:\n  staging:\n    environment: x\n", false},
		{"environments:\n  staging:\n    intervall: 1m\n", false},
		{"environments:\n  staging:\n    bake: 5\n", false},
		{"checks:\n  - {name: a, query: up, max: 1}\nwebhooks:\n  - {name: b, type: rollout, url: 'http://h', timeout: 5s, retries: 1, metadata: {k: v}}\n", true},
		{"notifications:\n  - {name: a, type: slack, url: $SLACK, events: [started, promoted]}\nenvironments:\n  dev:\n    notifications: []\n", true},
		{"checks:\n  - {name: a, query: up, maxx: 1}\n", false},
		{"checks: {name: a}\n", false},
		{"webhooks:\n  - {name: b, type: later, url: 'http://h'}\n", false},
		{"webhooks:\n  - {name: b, type: rollout, url: 'http://h', timeout: 5}\n", false},
		{"webhooks:\n  - {name: b, type: rollout}\n", false},
		{"notifications:\n  - {name: a, type: slack, url: $SLACK, events: [done]}\n", false},
		{"environments:\n  dev:\n    checks: [{name: a}]\n", false},
	}
	for _, c := range cases {
		_, loadErr := loadText(t, c.text)
		schemaErr := validateYAML(t, s, c.text)
		if (loadErr == nil) != c.ok || (schemaErr == nil) != c.ok {
			t.Errorf("%q: loader %v, schema %v; want both to %s", c.text, loadErr, schemaErr, map[bool]string{true: "accept", false: "refuse"}[c.ok])
		}
	}
}

// TestSchemaDefaults: a file giving every option its default, as the
// schema documents it, is valid for the schema and reads as the defaults.
func TestSchemaDefaults(t *testing.T) {
	t.Parallel()
	var schema struct {
		Properties map[string]struct {
			Default any `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(config.JSONSchema(), &schema); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]any{}
	for name, p := range schema.Properties {
		if p.Default != nil {
			defaults[name] = p.Default
		}
	}
	text, err := json.Marshal(defaults) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	if err := validateYAML(t, compileSchema(t), string(text)); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	v, err := loadText(t, string(text))
	for _, e := range leafErrors(err) { // steps and increment are both given: one does not apply
		if !strings.Contains(e.Error(), "does not apply to strategy") {
			t.Error(e)
		}
	}
	for _, o := range config.Options {
		if _, ok := defaults[o.Name]; ok != (o.Default != "" && config.InFile(o, false)) {
			t.Errorf("%s: default in the schema %v, option default %q", o.Name, ok, o.Default)
		}
		if ok := defaults[o.Name] != nil; ok && v.Get(o.Name) != o.Default {
			t.Errorf("%s: the schema's default reads as %q, want %q", o.Name, v.Get(o.Name), o.Default)
		}
	}
}
