package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// SchemaURL is where editors find the configuration file's JSON Schema
// (schema/ramp.schema.json in the repository, made by JSONSchema).
const SchemaURL = "https://raw.githubusercontent.com/ramp-deploy/ramp/main/schema/ramp.schema.json"

// SchemaPath is the schema's path in the repository.
const SchemaPath = "schema/ramp.schema.json"

// durationPattern is what Go's time.ParseDuration reads, without a sign:
// "0", or numbers each with a unit (1h30m, 1.5s, 250ms).
const durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// percentPattern is a number followed by %, as a string.
const percentPattern = `^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?%$`

// kindSchema is the JSON Schema of one value of kind k (of each entry, for
// a list), as the file's decoder reads it.
func kindSchema(k Kind) map[string]any {
	switch k {
	case KindBool:
		return map[string]any{"type": "boolean"}
	case KindInt:
		return map[string]any{"type": "integer"}
	case KindNumber:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "number"},
			map[string]any{"type": "string", "pattern": percentPattern},
		}}
	case KindDuration:
		return map[string]any{"type": "string", "pattern": durationPattern}
	case KindWeight:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "integer", "minimum": 0, "maximum": 100},
			map[string]any{"type": "string", "pattern": `^([Pp][Aa][Uu][Ss][Ee]|[0-9]+%)$`},
		}}
	}
	return map[string]any{"type": []any{"string", "number"}}
}

// optionSchema is the JSON Schema of option o's value.
func optionSchema(o Option) map[string]any {
	s := kindSchema(o.Type())
	if o.List {
		s = map[string]any{"anyOf": []any{
			map[string]any{"type": "array", "items": s},
			map[string]any{"type": "string", "description": "the entries, comma or newline separated"},
		}}
	}
	s["description"] = o.Usage
	if o.Max > 0 {
		s["description"] = fmt.Sprintf("%s (at most %s)", o.Usage, FormatDuration(o.Max))
	}
	if o.Default != "" {
		s["default"] = typedDefault(o)
	}
	return s
}

// typedDefault is the option's default as the file writes it.
func typedDefault(o Option) any {
	if o.List {
		var out []any
		for _, e := range splitList(o.Default) {
			out = append(out, typed(o.Type(), e))
		}
		return out
	}
	return typed(o.Type(), o.Default)
}

// typed is s as a JSON value of kind k: a number or boolean where the kind
// is one, a string otherwise.
func typed(k Kind, s string) any {
	switch k {
	case KindBool:
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	case KindInt, KindWeight:
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	case KindNumber:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}

// InFile reports whether option o may be set in the configuration file (at
// the top level; inEnvironment: in an environment's overrides).
func InFile(o Option, inEnvironment bool) bool {
	env := ""
	if inEnvironment {
		env = "any"
	}
	return refused(o, true, o.Name, env) == ""
}

// JSONSchema renders the configuration file's JSON Schema (draft-07, which
// editors' YAML language servers read) from Options: the options the file
// may set, typed, and the environments section.
func JSONSchema() []byte {
	props := map[string]any{}
	envProps := map[string]any{}
	for _, o := range Options {
		if !InFile(o, false) {
			continue
		}
		props[o.Name] = optionSchema(o)
		if InFile(o, true) {
			envProps[o.Name] = map[string]any{"$ref": "#/properties/" + o.Name}
		}
	}
	for _, sec := range sections {
		props[sec.name] = sectionSchema(sec)
		envProps[sec.name] = map[string]any{"$ref": "#/properties/" + sec.name}
	}
	props[SectionEnvironments] = map[string]any{
		"description": "per-environment overrides: the options under the environment selected " +
			"(the environment option, default production) win over the top level",
		"type": "object",
		"additionalProperties": map[string]any{
			"type": []any{"object", "null"}, "additionalProperties": false, "properties": envProps,
		},
	}
	schema := map[string]any{
		"$schema": "http://json-schema.org/draft-07/schema#",
		"$id":     SchemaURL,
		"title":   "ramp configuration file (ramp.yaml)",
		"description": "Every option as its flag is spelled, with typed values; flags, RAMP_* variables " +
			"and GitHub Action inputs override the file. Generated from internal/config/options.go.",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep <service> readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(schema); err != nil { // only maps, strings, numbers: cannot happen
		panic(fmt.Sprintf("config: render the JSON Schema: %v", err))
	}
	return b.Bytes()
}
