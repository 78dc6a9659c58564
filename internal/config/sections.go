package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/notify"
)

// The configuration file's list sections: what flags cannot say. Each is
// a list of mappings decoded strictly into its Go type (an unknown key or
// a wrong type is an error at its file:line:column), then validated entry
// by entry. An environment may replace a section whole.
const (
	SectionChecks        = "checks"
	SectionWebhooks      = "webhooks"
	SectionNotifications = "notifications"
)

// Lists are the file's list sections, as decoded for the environment
// selected.
type Lists struct {
	Checks        []gates.CheckSpec
	Webhooks      []gates.WebhookSpec
	Notifications []notify.Spec
}

// validator is a section entry's type.
type validator interface{ Validate() error }

// listSection is one list section: its name, what it holds, and where its
// entries go in Lists.
type listSection struct {
	name  string
	about string
	// entry is the Go type of one entry, for the JSON Schema; required
	// and enums (YAML key: valid values) add what the type cannot say.
	entry    reflect.Type
	required []string
	enums    map[string][]string
	// decode reads the section's node into l, listing every problem.
	decode func(d *fileDecoder, node ast.Node, l *Lists)
}

// sections is the literal registry of list sections.
var sections = []listSection{
	{SectionChecks, "custom metric checks: a query to the metrics source per check, with min and/or max; " +
		"with a direction, also compared between the variants of an A/B test",
		reflect.TypeFor[gates.CheckSpec](), []string{"name", "query"},
		map[string][]string{"direction": {gates.HigherIsBetter, gates.LowerIsBetter}},
		func(d *fileDecoder, n ast.Node, l *Lists) {
			l.Checks = decodeList[gates.CheckSpec](d, SectionChecks, n)
		}},
	{SectionWebhooks, "webhooks called during the rollout (Flagger's types): confirm, gate, or tell",
		reflect.TypeFor[gates.WebhookSpec](), []string{"name", "type", "url"}, map[string][]string{"type": gates.HookTypes},
		func(d *fileDecoder, n ast.Node, l *Lists) {
			l.Webhooks = decodeList[gates.WebhookSpec](d, SectionWebhooks, n)
		}},
	{SectionNotifications, "messages sent when the rollout starts, steps, promotes, rolls back, pauses or fails",
		reflect.TypeFor[notify.Spec](), []string{"name", "type", "url"},
		map[string][]string{"type": {notify.TypeSlack, notify.TypeWebhook}, "events": notify.Events},
		func(d *fileDecoder, n ast.Node, l *Lists) {
			l.Notifications = decodeList[notify.Spec](d, SectionNotifications, n)
		}},
}

// lookupSection returns the list section called name.
func lookupSection(name string) (listSection, bool) {
	i := slices.IndexFunc(sections, func(s listSection) bool { return s.name == name })
	if i < 0 {
		return listSection{}, false
	}
	return sections[i], true
}

// decodeList reads a list section: a YAML list (or null) of mappings, each
// decoded strictly into T and validated. Entries with problems are left
// out; every problem is recorded with its place.
func decodeList[T validator](d *fileDecoder, section string, node ast.Node) []T {
	if _, null := node.(*ast.NullNode); null {
		return []T{}
	}
	seq, ok := node.(*ast.SequenceNode)
	if !ok {
		d.fail(node, section, "", "must be a list of mappings, not %s", describe(node))
		return nil
	}
	out := []T{}
	names := map[string]string{}
	for i, item := range seq.Values {
		label := fmt.Sprintf("%s[%d]", section, i)
		if _, isMap := item.(ast.MapNode); !isMap {
			d.fail(item, label, "", "must be a mapping, not %s", describe(item))
			continue
		}
		var v T
		if err := yaml.NodeToValue(item, &v, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
			d.yamlError(item, label, err)
			continue
		}
		if err := v.Validate(); err != nil {
			d.fieldErrors(item, label, err)
			continue
		}
		name := reflect.ValueOf(v).FieldByName("Name").String()
		if first, dup := names[name]; dup {
			d.fail(item, label+".name", name, "is also the name of %s: names must differ", first)
			continue
		}
		names[name] = label
		out = append(out, v)
	}
	return out
}

// yamlError records a decoding error at its place in the file.
func (d *fileDecoder) yamlError(item ast.Node, label string, err error) {
	if ye, ok := errors.AsType[yaml.Error](err); ok && ye.GetToken() != nil && ye.GetToken().Position != nil {
		p := ye.GetToken().Position
		msg := strings.ReplaceAll(ye.GetMessage(), "unknown field", "unknown key")
		d.errs = append(d.errs, input.At(fmt.Sprintf("%s:%d:%d", d.name, p.Line, p.Column), label, "", "%s", msg))
		return
	}
	d.fail(item, label, "", "%v", err)
}

// fieldErrors records an entry's validation errors, each at the place of
// the key it names (the entry's place when the key is absent).
func (d *fileDecoder) fieldErrors(item ast.Node, label string, err error) {
	for _, leaf := range input.Leaves(err) {
		ie, ok := errors.AsType[*input.Error](leaf)
		if !ok {
			d.fail(item, label, "", "%v", leaf)
			continue
		}
		at := item
		if v := fieldNode(item, ie.Input); v != nil {
			at = v
		}
		d.errs = append(d.errs, input.At(d.at(at), label+"."+ie.Input, ie.Value, "%v", ie.Err))
	}
}

// fieldNode is the value of key in the mapping item, nil when absent.
func fieldNode(item ast.Node, key string) ast.Node {
	m, ok := item.(ast.MapNode)
	if !ok {
		return nil
	}
	for it := m.MapRange(); it.Next(); {
		if k, ok := it.Key().(*ast.StringNode); ok && k.Value == key {
			return it.Value()
		}
	}
	return nil
}

// sectionNode records a section's node for environment env ("" the top
// level), decoding it at once so its problems are listed whichever
// environment is selected.
func (d *fileDecoder) sectionNode(c *fileConfig, env, key string, node ast.Node) {
	s, _ := lookupSection(key)
	if c.lists[env] == nil {
		c.lists[env] = map[string]Lists{}
	}
	var l Lists
	s.decode(d, node, &l)
	c.lists[env][key] = l
}

// listsFor returns the list sections for environment env: each the
// environment's when it has the section, else the top level's. Lists has
// one field per section, in the order of sections.
func (c *fileConfig) listsFor(env string) Lists {
	var out Lists
	if c == nil {
		return out
	}
	dst := reflect.ValueOf(&out).Elem()
	for i, s := range sections {
		l, ok := c.lists[env][s.name]
		if !ok {
			l = c.lists[""][s.name]
		}
		dst.Field(i).Set(reflect.ValueOf(l).Field(i))
	}
	return out
}

// sectionSchema is the JSON Schema of list section s: a list of mappings
// with the entry type's YAML keys, typed.
func sectionSchema(s listSection) map[string]any {
	props := map[string]any{}
	for f := range s.entry.Fields() {
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		p := typeSchema(f.Type)
		if e, ok := s.enums[key]; ok {
			if items, isList := p["items"].(map[string]any); isList {
				items["enum"] = e
			} else {
				p["enum"] = e
			}
		}
		props[key] = p
	}
	return map[string]any{
		"description": s.about,
		"type":        []any{"array", "null"},
		"items": map[string]any{"type": "object", "additionalProperties": false,
			"required": s.required, "properties": props},
	}
}

// typeSchema is the JSON Schema of a value of Go type t as the decoder
// reads it.
func typeSchema(t reflect.Type) map[string]any {
	if t == reflect.TypeFor[time.Duration]() {
		return kindSchema(KindDuration)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeSchema(t.Elem())
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem())}
	}
	return map[string]any{"type": "string"}
}
