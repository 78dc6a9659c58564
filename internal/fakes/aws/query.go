package aws

import (
	"encoding/xml"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// node is one structure of an awsQuery request, kept as sent so a rule's
// actions and conditions go back exactly as they came: a value is a
// string, a node, or a list ([]any) of either.
type node = map[string]any

// parseQuery turns the form of an awsQuery request into a node:
// "Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight=10" sets
// the Weight of the second target group of the first action. An empty
// list is sent as "Actions=" and read as an empty list.
func parseQuery(form url.Values) node {
	root := node{}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range form {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if k == "Action" || k == "Version" {
			continue
		}
		setPath(root, strings.Split(k, "."), form.Get(k))
	}
	return compact(root).(node)
}

func setPath(n node, parts []string, value string) {
	key := parts[0]
	switch {
	case len(parts) == 1:
		if value != "" {
			n[key] = value
		} else if _, ok := n[key]; !ok {
			n[key] = []any{}
		}
	case parts[1] == "member" && len(parts) >= 3:
		i, err := strconv.Atoi(parts[2])
		if err != nil || i < 1 || i > 1000 {
			return
		}
		list, _ := n[key].([]any)
		for len(list) < i {
			list = append(list, nil)
		}
		if len(parts) == 3 {
			list[i-1] = value
		} else {
			child, ok := list[i-1].(node)
			if !ok {
				child = node{}
				list[i-1] = child
			}
			setPath(child, parts[3:], value)
		}
		n[key] = list
	default:
		child, ok := n[key].(node)
		if !ok {
			child = node{}
			n[key] = child
		}
		setPath(child, parts[1:], value)
	}
}

// compact drops the holes of sparse lists.
func compact(v any) any {
	switch v := v.(type) {
	case node:
		for k, c := range v {
			v[k] = compact(c)
		}
	case []any:
		out := []any{}
		for _, c := range v {
			if c != nil {
				out = append(out, compact(c))
			}
		}
		return out
	}
	return v
}

// writeXML writes v as the members of an awsQuery answer: a node's keys as
// elements in sorted order, a list's items as <member> elements.
func writeXML(w io.Writer, name string, v any) {
	if name != "" {
		io.WriteString(w, "<"+name+">")
	}
	switch v := v.(type) {
	case node:
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range v {
				if !yield(k) {
					return
				}
			}
		}) {
			writeXML(w, k, v[k])
		}
	case []any:
		for _, c := range v {
			writeXML(w, "member", c)
		}
	case string:
		xml.EscapeText(w, []byte(v))
	case bool:
		io.WriteString(w, strconv.FormatBool(v))
	case int:
		io.WriteString(w, strconv.Itoa(v))
	}
	if name != "" {
		io.WriteString(w, "</"+name+">")
	}
}

// str is the string at key of n, or "".
func str(n node, key string) string {
	s, _ := n[key].(string)
	return s
}

// list is the list at key of n, or nil.
func list(n node, key string) []any {
	l, _ := n[key].([]any)
	return l
}

// strs is the list of strings at key of n.
func strs(n node, key string) []string {
	var out []string
	for _, v := range list(n, key) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
