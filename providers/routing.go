package providers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ramp-deploy/ramp/internal/input"
)

// The kinds of a match rule: what part of a request it reads.
const (
	MatchHeader = "header"
	MatchCookie = "cookie"
	MatchQuery  = "query"
)

// MatchKinds lists every match kind.
var MatchKinds = []string{MatchHeader, MatchCookie, MatchQuery}

// Match is one rule of request routing: a request whose header, cookie or
// query parameter Name has exactly Value goes to the candidate.
type Match struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// String writes the rule as the match input takes it: "header:X-Variant=b".
func (m Match) String() string { return m.Kind + ":" + m.Name + "=" + m.Value }

// ParseMatch reads match rules, each KIND:NAME=VALUE with KIND header,
// cookie or query ("header:X-Variant=b", "cookie:variant=b",
// "query:variant=b"). Every bad rule is named, all at once. A header name
// is canonicalised (x-variant is X-Variant); cookie and query names are
// matched as written.
func ParseMatch(rules []string) ([]Match, error) {
	var out []Match
	var errs []error
	bad := func(rule, format string, args ...any) {
		errs = append(errs, input.Invalid("match", rule, format, args...))
	}
	for _, rule := range rules {
		rule = strings.TrimSpace(rule)
		kind, rest, ok := strings.Cut(rule, ":")
		kind = strings.ToLower(strings.TrimSpace(kind))
		if !ok || !slices.Contains(MatchKinds, kind) {
			bad(rule, "is not KIND:NAME=VALUE with KIND one of %q (e.g. header:X-Variant=b)", MatchKinds)
			continue
		}
		name, value, ok := strings.Cut(rest, "=")
		name = strings.TrimSpace(name)
		switch {
		case !ok:
			bad(rule, "has no =VALUE: a %s rule matches one exact value (e.g. %s:variant=b)", kind, kind)
			continue
		case name == "":
			bad(rule, "names no %s", kind)
			continue
		case value == "":
			bad(rule, "matches an empty value; give the value the candidate's cohort sends")
			continue
		case kind == MatchHeader && !validToken(name):
			bad(rule, "%q is not a valid header name", name)
			continue
		case kind == MatchCookie && (!validToken(name) || strings.ContainsAny(value, "; ,\"")):
			bad(rule, "is not a valid cookie name and value")
			continue
		}
		if kind == MatchHeader {
			name = http.CanonicalHeaderKey(name)
		}
		out = append(out, Match{Kind: kind, Name: name, Value: value})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// validToken reports whether s is an HTTP token (RFC 9110), as header and
// cookie names are.
func validToken(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// Routing is how a RequestRouter sends requests to the candidate beyond
// its weight: every request a Match rule matches goes to the candidate;
// the others are split by weight, and with Sticky each client keeps the
// version it was first given (a cookie on the local proxy).
type Routing struct {
	Match  []Match `json:"match,omitempty"`
	Sticky bool    `json:"sticky,omitempty"`
}

// Equal reports whether two routings route alike (nil is routing by weight
// only, as an empty one is).
func (r *Routing) Equal(o *Routing) bool {
	if r.Empty() || o.Empty() {
		return r.Empty() == o.Empty()
	}
	return r.Sticky == o.Sticky && slices.Equal(r.Match, o.Match)
}

// Empty reports whether r routes by weight only.
func (r *Routing) Empty() bool { return r == nil || (len(r.Match) == 0 && !r.Sticky) }

// String describes the routing for logs and reports, e.g. "header:X-Variant=b,
// sticky".
func (r *Routing) String() string {
	if r.Empty() {
		return "by weight"
	}
	parts := make([]string, 0, len(r.Match)+1)
	for _, m := range r.Match {
		parts = append(parts, m.String())
	}
	if r.Sticky {
		parts = append(parts, "sticky")
	}
	return strings.Join(parts, ", ")
}

// RequestRouter is the optional capability of a provider that routes by
// request, not only by weight: strategy ab needs it. Its Apply takes a
// shift's Routing (and its promote and rollback clear it); its Status
// reports the routing it applies. The local proxy has it, and ECS in mode
// tasksets (a listener rule; RoutesBy reports no kinds in mode native, which
// CheckRouting refuses as a whole); Cloud Run (a tag
// URL reaches a revision, no header routes to it) and Fly (a machine can
// be pinned, not a request) do not.
type RequestRouter interface {
	Provider
	// RoutesBy lists the match kinds the platform routes by and whether
	// it keeps a client on its version across requests (sticky).
	RoutesBy(ctx context.Context) (kinds []string, sticky bool)
}

// CheckRouting refuses routing rt that p cannot make, naming the input:
// a provider without RequestRouter, a match kind it cannot read, or sticky
// sessions it cannot keep.
func CheckRouting(ctx context.Context, p Provider, name string, rt *Routing) error {
	if rt.Empty() {
		return nil
	}
	rr, ok := p.(RequestRouter)
	if !ok {
		return input.Invalid("strategy", "ab", "provider %s cannot route by request: %s", name, cannotRoute(name))
	}
	kinds, sticky := rr.RoutesBy(ctx)
	if len(kinds) == 0 && !sticky { // a router that cannot route as configured
		return input.Invalid("strategy", "ab", "provider %s cannot route by request: %s", name, cannotRoute(name))
	}
	var errs []error
	for _, m := range rt.Match {
		if !slices.Contains(kinds, m.Kind) {
			errs = append(errs, input.Invalid("match", m.String(), "provider %s routes by %q only", name, kinds))
		}
	}
	if rt.Sticky && !sticky {
		errs = append(errs, input.Invalid("ab-weight", "", "provider %s cannot keep a client on its variant; use match rules only", name))
	}
	return errors.Join(errs...)
}

// cannotRoute says what a provider without request routing offers instead.
func cannotRoute(name string) string {
	switch name {
	case "cloudrun":
		return "Cloud Run splits traffic by percentage only; a revision tag gives the candidate its own URL " +
			"(the candidate URL ramp reports), which testers can be sent to instead"
	case "fly":
		return "Fly's proxy balances requests over machines and cannot route by header or cookie; " +
			"a client can pin one machine with the fly-force-instance-id header, not a cohort"
	case "ecs":
		return "in mode native ECS moves its deployment's weights itself; strategy ab needs mode tasksets " +
			"(a listener rule of ramp's and target group stickiness)"
	}
	return "it has no request routing; strategy ab works on providers with it (local)"
}
