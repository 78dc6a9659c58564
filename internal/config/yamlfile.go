package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"

	"github.com/ramp-deploy/ramp/internal/input"
)

// The configuration file, ramp.yaml, is a mapping of option names (as the
// flags spell them) to typed values, plus sections that are not options:
// environments, a mapping of environment names to mappings of options that
// override the top level when that environment is selected, and the list
// sections (checks, webhooks, notifications; see sections.go). No option
// may take a section's name.

// SectionEnvironments is the file's per-environment overrides section.
const SectionEnvironments = "environments"

// setting is one option's value as the file gives it.
type setting struct {
	// raw is the value as a flag would give it: lists joined with commas.
	raw string
	// at is where the value is: file:line:column.
	at string
}

// fileConfig is a decoded configuration file.
type fileConfig struct {
	// top holds the options at the top level; envs the overrides of each
	// environment.
	top  map[string]setting
	envs map[string]map[string]setting
	// lists holds the list sections given at the top level (env "") and
	// in each environment, by section name.
	lists map[string]map[string]Lists
	// errs lists every problem, each an *input.Error naming its place.
	errs []error
}

// fileDecoder walks the file's syntax tree, collecting every problem.
type fileDecoder struct {
	name string
	errs []error
}

// decodeFile reads the configuration file called name (as the user named
// it, for the errors) from data. A syntax error stops the decoding; every
// other problem (an unknown key, a wrong type) is listed.
func decodeFile(name string, data []byte) *fileConfig {
	c := &fileConfig{top: map[string]setting{}, envs: map[string]map[string]setting{}, lists: map[string]map[string]Lists{}}
	d := &fileDecoder{name: name}
	f, err := yamlparser.ParseBytes(data, 0)
	if err != nil {
		c.errs = []error{d.syntax(err)}
		return c
	}
	bodies := 0
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if bodies++; bodies > 1 {
			d.fail(doc.Body, "config", "", "holds more than one YAML document; ramp reads one")
			break
		}
		c.top = d.section(doc.Body, "", c)
	}
	c.errs = d.errs
	return c
}

// syntax turns the parser's error into an input error at its place.
func (d *fileDecoder) syntax(err error) error {
	if ye, ok := errors.AsType[yaml.Error](err); ok && ye.GetToken() != nil {
		p := ye.GetToken().Position
		return input.At(fmt.Sprintf("%s:%d:%d", d.name, p.Line, p.Column), "config", "", "is not valid YAML: %s", ye.GetMessage())
	}
	return input.Invalid("config", d.name, "is not valid YAML: %w", err)
}

// at says where node is: file:line:column. A block mapping's place is its
// first key's.
func (d *fileDecoder) at(node ast.Node) string {
	if m, ok := node.(ast.MapNode); ok {
		if it := m.MapRange(); it.Next() {
			node = it.Key()
		}
	}
	tk := node.GetToken()
	if tk == nil || tk.Position == nil {
		return d.name
	}
	return fmt.Sprintf("%s:%d:%d", d.name, tk.Position.Line, tk.Position.Column)
}

func (d *fileDecoder) fail(node ast.Node, name, value, format string, args ...any) {
	d.errs = append(d.errs, input.At(d.at(node), name, value, format, args...))
}

// section reads a mapping of options: the top level (env "") or the
// overrides of environment env. The top level's environments go to c.
func (d *fileDecoder) section(node ast.Node, env string, c *fileConfig) map[string]setting {
	out := map[string]setting{}
	m, ok := node.(ast.MapNode)
	if !ok {
		where := "the file"
		if env != "" {
			where = "environment " + strconv.Quote(env)
		}
		d.fail(node, "config", "", "%s must be a mapping of option names to values, not %s", where, describe(node))
		return out
	}
	for it := m.MapRange(); it.Next(); {
		kv := it.KeyValue()
		key, ok := d.key(kv.Key)
		if !ok {
			continue
		}
		if key == SectionEnvironments && env == "" {
			d.environments(kv.Value, c)
			continue
		}
		if _, list := lookupSection(key); list {
			d.sectionNode(c, env, key, kv.Value)
			continue
		}
		o, known := Lookup(key)
		if problem := refused(o, known, key, env); problem != "" {
			d.fail(kv.Key, key, "", "%s", problem)
			continue
		}
		if raw, ok := d.value(o, kv.Value); ok {
			out[key] = setting{raw: raw, at: d.at(kv.Value)}
		}
	}
	return out
}

// key reads a mapping key, which must be a plain string.
func (d *fileDecoder) key(k ast.MapKeyNode) (string, bool) {
	switch n := k.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.MergeKeyNode:
		d.fail(k, "<<", "", "merge keys are not read in a ramp configuration file: the top level already applies to every environment")
	default:
		d.fail(k, k.GetToken().Value, "", "keys are option names, not %s", describe(k))
	}
	return "", false
}

// environments reads the environments section into c.
func (d *fileDecoder) environments(node ast.Node, c *fileConfig) {
	if _, null := node.(*ast.NullNode); null {
		return
	}
	m, ok := node.(ast.MapNode)
	if !ok {
		d.fail(node, SectionEnvironments, "", "must map environment names to their options, not %s", describe(node))
		return
	}
	for it := m.MapRange(); it.Next(); {
		kv := it.KeyValue()
		name, ok := d.key(kv.Key)
		if !ok {
			continue
		}
		if _, null := kv.Value.(*ast.NullNode); null {
			c.envs[name] = map[string]setting{}
			continue
		}
		c.envs[name] = d.section(kv.Value, name, c)
	}
}

// refused says why key may not be set in the file (in environment env's
// overrides when env is not empty); "" when it may.
func refused(o Option, known bool, key, env string) string {
	switch {
	case key == SectionEnvironments:
		return "environments cannot be nested in an environment"
	case !known:
		if s := closest(key); s != "" {
			return fmt.Sprintf("is not a ramp option; did you mean %q?", s)
		}
		return "is not a ramp option (see ramp deploy --help for the options)"
	case o.Name == "config":
		return "cannot be set in the configuration file itself: name the file with --config, RAMP_CONFIG or the action's config input"
	case o.Secret:
		return fmt.Sprintf("is a secret, and a configuration file is kept with the code: set %s or the action's %s input instead", o.Env(), o.Name)
	case o.Name == "environment" && env != "":
		return "selects the environment, so it cannot be set inside one: set it at the top level or with --environment"
	}
	return ""
}

// closest is the option name nearest to key, if a typo away.
func closest(key string) string {
	best, bestDist := "", min(3, len(key)/2+1) // at most 2 edits, and not most of the key
	for _, o := range Options {
		if d := editDistance(key, o.Name); d < bestDist {
			best, bestDist = o.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// describe names the YAML type of node for an error.
func describe(node ast.Node) string {
	switch node.(type) {
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "a whole number"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "true or false"
	case *ast.NullNode:
		return "null"
	case *ast.SequenceNode:
		return "a list"
	case ast.MapNode:
		return "a mapping"
	}
	return strings.ToLower(node.Type().String())
}

// joinEntries turns a list given as one string (comma or newline
// separated, as on the command line) into the flag's form.
func joinEntries(s string) string { return strings.Join(splitList(s), ",") }
