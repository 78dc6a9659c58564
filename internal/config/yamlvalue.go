package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// kindWords says what a value of each kind looks like, for errors.
var kindWords = map[Kind]string{
	KindText:     "a string",
	KindBool:     "true or false",
	KindInt:      "a whole number",
	KindNumber:   `a number (or a percentage such as "5%")`,
	KindDuration: `a duration with a unit, such as "30s" or "1h30m"`,
	KindWeight:   `a weight (a whole number) or "pause"`,
}

// want says what a value of option o looks like, for errors.
func want(o Option) string {
	if o.List {
		return fmt.Sprintf("a list of entries, each %s (or one string of them, comma separated)", kindWords[o.Type()])
	}
	return kindWords[o.Type()]
}

// value reads the value of option o as a flag would give it. It reports
// false when the node gives none (null, an empty string or list) or has a
// problem, which is recorded.
func (d *fileDecoder) value(o Option, node ast.Node) (string, bool) {
	if d.unread(o, node) {
		return "", false
	}
	switch n := node.(type) {
	case *ast.NullNode:
		return "", false
	case *ast.SequenceNode:
		if !o.List {
			d.fail(node, o.Name, "", "must be %s, not a list", want(o))
			return "", false
		}
		return d.list(o, n)
	case ast.MapNode:
		d.fail(node, o.Name, "", "must be %s, not a mapping", want(o))
		return "", false
	}
	s, ok := d.scalar(o, node)
	if o.List {
		s = joinEntries(s)
	}
	return s, ok && strings.TrimSpace(s) != ""
}

// unread records the YAML features the file does not read: anchors,
// aliases and tags. It reports whether node is one.
func (d *fileDecoder) unread(o Option, node ast.Node) bool {
	switch node.(type) {
	case *ast.AnchorNode, *ast.AliasNode:
		d.fail(node, o.Name, "", "anchors and aliases are not read in a ramp configuration file: the top level already applies to every environment")
	case *ast.TagNode:
		d.fail(node, o.Name, "", "YAML tags are not read in a ramp configuration file: quote the value if it is text")
	default:
		return false
	}
	return true
}

// list reads a sequence: each entry a scalar of o's kind, holding no comma
// or newline (the separators of the flag's form).
func (d *fileDecoder) list(o Option, seq *ast.SequenceNode) (string, bool) {
	var entries []string
	ok := true
	for _, item := range seq.Values {
		if d.unread(o, item) {
			ok = false
			continue
		}
		switch item.(type) {
		case *ast.NullNode:
			d.fail(item, o.Name, "", "an entry of the list is empty")
			ok = false
			continue
		case *ast.SequenceNode, ast.MapNode:
			d.fail(item, o.Name, "", "entries must each be %s, not %s", kindWords[o.Type()], describe(item))
			ok = false
			continue
		}
		s, good := d.scalar(o, item)
		s = strings.TrimSpace(s)
		switch {
		case !good:
			ok = false
		case s == "":
			d.fail(item, o.Name, "", "an entry of the list is empty")
			ok = false
		case strings.ContainsAny(s, ",\n"):
			d.fail(item, o.Name, s, "an entry cannot hold a comma or a newline: ramp splits entries on them")
			ok = false
		default:
			entries = append(entries, s)
		}
	}
	return strings.Join(entries, ","), ok && len(entries) > 0
}

// scalar reads a scalar of o's kind (each entry's, for a list). A number
// is read as written where text is wanted (cpu: 0.5); a string is a number
// only as a percentage ("5%"); a duration must be a string with a unit.
func (d *fileDecoder) scalar(o Option, node ast.Node) (string, bool) {
	kind := o.Type()
	written := ""
	if tk := node.GetToken(); tk != nil {
		written = tk.Value
	}
	var s string
	ok := false
	switch n := node.(type) {
	case *ast.StringNode:
		s = n.Value
		ok = kind != KindInt && kind != KindBool && (kind != KindNumber || strings.HasSuffix(strings.TrimSpace(s), "%"))
	case *ast.LiteralNode:
		s, ok = n.Value.Value, kind == KindText || kind == KindDuration || kind == KindWeight
	case *ast.IntegerNode:
		s, ok = fmt.Sprint(n.Value), kind == KindInt || kind == KindNumber || kind == KindWeight
	case *ast.FloatNode:
		s, ok = strconv.FormatFloat(n.Value, 'g', -1, 64), kind == KindNumber
	case *ast.InfinityNode, *ast.NanNode:
		if kind == KindNumber {
			d.fail(node, o.Name, written, "must be a finite number")
			return "", false
		}
	case *ast.BoolNode:
		s, ok = strconv.FormatBool(n.Value), kind == KindBool
	}
	if kind == KindText && isNumber(node) {
		s, ok = written, true
	}
	if !ok {
		d.fail(node, o.Name, written, "must be %s, not %s", kindWords[kind], describe(node))
		return "", false
	}
	return s, true
}

// isNumber reports whether node is a YAML number.
func isNumber(node ast.Node) bool {
	switch node.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return true
	}
	return false
}
