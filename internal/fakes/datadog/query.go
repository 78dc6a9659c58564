package datadog

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// query is one parsed metrics query of the classic grammar, the subset the
// fake models:
//
//	[sum|avg|min|max:]metric{scope}[ by {tag,...}][.as_count()|.as_rate()][.rollup(agg[,seconds])]
//
// scope is * or comma-separated terms that all must hold: key:value,
// !key:value, or a bare tag; a value may end in a * wildcard.
type query struct {
	space  string   // space aggregator: sum, avg, min or max
	metric string   // metric name
	scope  []term   // filters, all of which must match
	by     []string // tag keys to group by
	time   string   // time aggregator of a bucket: sum, avg, min, max or count
	rate   bool     // as_rate: the bucket's sum per second
	rollup int64    // rollup interval in seconds; 0 when not given
}

// term is one scope filter.
type term struct {
	not        bool
	key, value string // value empty for a bare tag
}

var (
	metricName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)
	tagPart    = regexp.MustCompile(`^[A-Za-z0-9_.:/\-*]+$`)
	aggregator = []string{"sum", "avg", "min", "max"}
)

// parseQuery parses q, refusing with a message in Datadog's words what it
// cannot parse and, said so, what it does not model.
func parseQuery(q string) (query, error) {
	p := query{space: "avg", time: "avg"}
	rest := strings.TrimSpace(q)
	if i := strings.IndexByte(rest, ':'); i >= 0 && i < strings.IndexByte(rest+"{", '{') {
		p.space, rest = rest[:i], rest[i+1:]
		if !slices.Contains(aggregator, p.space) {
			return p, parseError(q, "unknown or unmodelled space aggregator %q", p.space)
		}
	}
	open := strings.IndexByte(rest, '{')
	end := strings.IndexByte(rest, '}')
	if open < 0 || end < open {
		return p, parseError(q, "a metric query needs a scope in braces, e.g. metric{*}")
	}
	p.metric = rest[:open]
	if !metricName.MatchString(p.metric) {
		return p, parseError(q, "invalid metric name %q", p.metric)
	}
	scope, err := parseScope(rest[open+1 : end])
	if err != nil {
		return p, parseError(q, "%v", err)
	}
	p.scope = scope
	rest = rest[end+1:]
	if strings.HasPrefix(rest, " by {") {
		close := strings.IndexByte(rest, '}')
		if close < 0 {
			return p, parseError(q, "unclosed group-by")
		}
		for tag := range strings.SplitSeq(rest[len(" by {"):close], ",") {
			if tag = strings.TrimSpace(tag); !tagPart.MatchString(tag) {
				return p, parseError(q, "invalid group-by tag %q", tag)
			}
			p.by = append(p.by, strings.TrimSpace(tag))
		}
		rest = rest[close+1:]
	}
	if err := p.functions(rest); err != nil {
		return p, parseError(q, "%v", err)
	}
	return p, nil
}

// parseScope parses the terms between a query's braces.
func parseScope(s string) ([]term, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return nil, nil
	}
	var terms []term
	for raw := range strings.SplitSeq(s, ",") {
		raw = strings.TrimSpace(raw)
		t := term{not: strings.HasPrefix(raw, "!")}
		raw = strings.TrimPrefix(raw, "!")
		if !tagPart.MatchString(raw) {
			return nil, fmt.Errorf("invalid scope term %q", raw)
		}
		t.key, t.value, _ = strings.Cut(raw, ":")
		terms = append(terms, t)
	}
	return terms, nil
}

// functions parses the chain of .fn(args) after the scope.
func (p *query) functions(s string) error {
	for s != "" {
		if !strings.HasPrefix(s, ".") {
			return fmt.Errorf("unexpected %q", s)
		}
		open, close := strings.IndexByte(s, '('), strings.IndexByte(s, ')')
		if open < 0 || close < open {
			return fmt.Errorf("unexpected %q", s)
		}
		name, args := s[1:open], strings.Split(s[open+1:close], ",")
		s = s[close+1:]
		switch {
		case name == "as_count" && s0(args):
			p.time = "sum"
		case name == "as_rate" && s0(args):
			p.time, p.rate = "sum", true
		case name == "rollup" && len(args) <= 2:
			agg := strings.TrimSpace(args[0])
			if !slices.Contains(append(slices.Clone(aggregator), "count"), agg) {
				return fmt.Errorf("unknown rollup aggregator %q", agg)
			}
			p.time = agg
			if len(args) == 2 {
				n, err := strconv.ParseInt(strings.TrimSpace(args[1]), 10, 64)
				if err != nil || n <= 0 {
					return fmt.Errorf("invalid rollup interval %q", args[1])
				}
				p.rollup = n
			}
		default:
			return fmt.Errorf("unknown or unmodelled function %s(%s)", name, strings.Join(args, ","))
		}
	}
	return nil
}

func s0(args []string) bool { return len(args) == 1 && strings.TrimSpace(args[0]) == "" }

func parseError(q, format string, args ...any) error {
	return fmt.Errorf("Error parsing query: %s: %s", fmt.Sprintf(format, args...), q) //nolint:staticcheck // Datadog's words
}

// matches reports whether a series with tags passes every scope term.
func (p query) matches(tags map[string]string) bool {
	for _, t := range p.scope {
		v, ok := tags[t.key]
		hit := ok && (t.value == "" || wildcard(t.value, v))
		if hit == t.not {
			return false
		}
	}
	return true
}

// wildcard matches v against pattern, whose * matches any run.
func wildcard(pattern, v string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	ok, _ := regexp.MatchString(re, v)
	return ok
}
