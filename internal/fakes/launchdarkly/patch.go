package launchdarkly

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// clone is a deep copy of f.
func clone(f *Flag) *Flag {
	raw, _ := json.Marshal(f) // plain fields: cannot fail
	var out Flag
	_ = json.Unmarshal(raw, &out)
	return &out
}

// instruction is one semantic patch instruction (the fields the fake
// knows).
type instruction struct {
	Kind           string         `json:"kind"`
	VariationID    string         `json:"variationId"`
	RolloutWeights map[string]int `json:"rolloutWeights"`
}

// semantic applies a semantic patch to a copy of f: all its instructions
// or, on the first refused, none (nil, the status and why).
func semantic(f *Flag, body []byte) (*Flag, int, string) {
	var p struct {
		EnvironmentKey string            `json:"environmentKey"`
		Comment        string            `json:"comment"`
		Instructions   []json.RawMessage `json:"instructions"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return nil, http.StatusBadRequest, "invalid semantic patch: " + err.Error()
	}
	if len(p.Instructions) == 0 {
		return nil, http.StatusBadRequest, "semantic patch has no instructions"
	}
	if p.EnvironmentKey == "" {
		return nil, http.StatusBadRequest, "environmentKey is required for these instructions"
	}
	next := clone(f)
	env, ok := next.Environments[p.EnvironmentKey]
	if !ok {
		return nil, http.StatusNotFound, "Unknown environment key " + p.EnvironmentKey
	}
	for n, raw := range p.Instructions {
		var in instruction
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("instruction %d: %v", n, err)
		}
		switch in.Kind {
		case "turnFlagOn":
			env.On = true
		case "turnFlagOff":
			env.On = false
		case "updateFallthroughVariationOrRollout":
			ft, err := fallthroughOf(next, in)
			if err != nil {
				return nil, http.StatusBadRequest, fmt.Sprintf("instruction %d (%s): %v", n, in.Kind, err)
			}
			env.Fallthrough = ft
		default:
			return nil, http.StatusBadRequest, fmt.Sprintf("instruction %d: unsupported instruction kind %q", n, in.Kind)
		}
	}
	env.Version++
	return next, 0, ""
}

// fallthroughOf is the default rule an updateFallthroughVariationOrRollout
// instruction asks for: one variation, or weights of known variations
// adding up to 100000.
func fallthroughOf(f *Flag, in instruction) (Fallthrough, error) {
	index := map[string]int{}
	for i, v := range f.Variations {
		index[v.ID] = i
	}
	switch {
	case in.VariationID != "" && in.RolloutWeights != nil:
		return Fallthrough{}, fmt.Errorf("give either variationId or rolloutWeights, not both")
	case in.VariationID != "":
		i, ok := index[in.VariationID]
		if !ok {
			return Fallthrough{}, fmt.Errorf("unknown variation ID %q", in.VariationID)
		}
		return Fallthrough{Variation: &i}, nil
	case len(in.RolloutWeights) == 0:
		return Fallthrough{}, fmt.Errorf("variationId or rolloutWeights is required")
	}
	r := &Rollout{}
	sum := 0
	for i, v := range f.Variations {
		w, ok := in.RolloutWeights[v.ID]
		if !ok {
			continue
		}
		if w < 0 || w > 100000 {
			return Fallthrough{}, fmt.Errorf("weight %d of variation %q is outside 0..100000", w, v.ID)
		}
		sum += w
		r.Variations = append(r.Variations, Weighted{Variation: i, Weight: w})
	}
	for id := range in.RolloutWeights {
		if _, ok := index[id]; !ok {
			return Fallthrough{}, fmt.Errorf("unknown variation ID %q in rolloutWeights", id)
		}
	}
	if sum != 100000 {
		return Fallthrough{}, fmt.Errorf("rollout weights add up to %d, not 100000", sum)
	}
	return Fallthrough{Rollout: r}, nil
}

// op is one JSON Patch operation.
type op struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchable are the paths a JSON Patch may change in the fake.
var patchable = []string{"/customProperties", "/description"}

// jsonPatch applies an RFC 6902 patch ([...] or {"patch": [...]}) to a
// copy of f: every operation or, on the first that fails, none.
func jsonPatch(f *Flag, body []byte) (*Flag, int, string) {
	var ops []op
	if err := json.Unmarshal(body, &ops); err != nil {
		var wrapped struct {
			Patch []op `json:"patch"`
		}
		if werr := json.Unmarshal(body, &wrapped); werr != nil || wrapped.Patch == nil {
			return nil, http.StatusBadRequest, "invalid JSON patch: " + err.Error()
		}
		ops = wrapped.Patch
	}
	raw, _ := json.Marshal(f)
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	for n, o := range ops {
		if !allowed(o.Path) {
			return nil, http.StatusBadRequest, fmt.Sprintf("operation %d: path %q cannot be patched here", n, o.Path)
		}
		var v any
		if o.Op != "remove" {
			if err := json.Unmarshal(o.Value, &v); err != nil {
				return nil, http.StatusBadRequest, fmt.Sprintf("operation %d: value: %v", n, err)
			}
		}
		if status, msg := apply(doc, o, v); status != 0 {
			return nil, status, fmt.Sprintf("operation %d (%s %s): %s", n, o.Op, o.Path, msg)
		}
	}
	raw, _ = json.Marshal(doc)
	var next Flag
	if err := json.Unmarshal(raw, &next); err != nil {
		return nil, http.StatusBadRequest, "the patched flag is invalid: " + err.Error()
	}
	return &next, 0, ""
}

func allowed(path string) bool {
	for _, p := range patchable {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// apply applies one operation to doc (top-level members and members of
// customProperties only, which is all patchable holds).
func apply(doc map[string]any, o op, v any) (int, string) {
	parts := strings.Split(strings.TrimPrefix(o.Path, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
	}
	parent := doc
	for _, p := range parts[:len(parts)-1] {
		child, ok := parent[p].(map[string]any)
		if !ok {
			return http.StatusBadRequest, "no such path"
		}
		parent = child
	}
	last := parts[len(parts)-1]
	cur, exists := parent[last]
	switch o.Op {
	case "test":
		if !exists || !reflect.DeepEqual(cur, v) {
			return http.StatusConflict, "test operation failed: the value differs"
		}
	case "add":
		parent[last] = v
	case "replace":
		if !exists {
			return http.StatusBadRequest, "replace of a missing member"
		}
		parent[last] = v
	case "remove":
		if !exists {
			return http.StatusBadRequest, "remove of a missing member"
		}
		delete(parent, last)
	default:
		return http.StatusBadRequest, fmt.Sprintf("unsupported op %q", o.Op)
	}
	return 0, ""
}
