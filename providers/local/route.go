package local

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"

	"github.com/ramp-deploy/ramp/providers"
)

// variantCookie is the cookie the proxy keeps a client on its version with
// in a sticky A/B test: its value is the revision the client was given.
const variantCookie = "ramp-variant"

// routes is request routing on top of the routing table's weight (strategy
// ab): a request any match rule matches goes to the candidate; with sticky
// set, any other request goes to the version its variant cookie names, or,
// without one, to a version drawn by weight, named in a new cookie. nil in
// a table routes by weight alone. Matching reads the request in place and
// allocates nothing.
type routes struct {
	match  []providers.Match
	sticky bool
	// candidate and stable are the revisions' IDs; setCandidate and
	// setStable the Set-Cookie values naming them, built once.
	candidate, stable       string
	setCandidate, setStable []string
}

// newRoutes returns the routes of rt for the candidate and stable
// revisions; nil when rt routes by weight only.
func newRoutes(rt *providers.Routing, candidate, stable string) *routes {
	if rt.Empty() || candidate == "" {
		return nil
	}
	cookie := func(rev string) []string {
		return []string{(&http.Cookie{Name: variantCookie, Value: rev, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}).String()}
	}
	return &routes{match: rt.Match, sticky: rt.Sticky, candidate: candidate, stable: stable,
		setCandidate: cookie(candidate), setStable: cookie(stable)}
}

// request is what routing reads of a request: its headers, cookies and
// query, in place. stdRequest is one net/http read, fastRequest one
// fasthttp read.
type request interface {
	headerHas(name, value string) bool
	cookieIs(name, value string) bool
	query() string
}

// stdRequest is a request read by net/http, as routing reads it.
type stdRequest struct{ r *http.Request }

// headerHas reports whether a header called name (canonical) has value.
func (r stdRequest) headerHas(name, value string) bool {
	for _, v := range r.r.Header[name] {
		if v == value {
			return true
		}
	}
	return false
}

// cookieIs reports whether the first cookie called name has value.
func (r stdRequest) cookieIs(name, value string) bool { return cookieValue(r.r, name) == value }

// query returns the raw query.
func (r stdRequest) query() string { return r.r.URL.RawQuery }

// choose picks the backend for r with t's pools and weight, and the
// Set-Cookie value to answer with (nil for none).
func (rs *routes) choose(t *table, r request) (*backend, []string) {
	if len(t.candidate.backends) == 0 {
		return t.stable.take(), nil
	}
	for _, m := range rs.match {
		if matches(m, r) {
			return t.candidate.take(), nil
		}
	}
	if !rs.sticky || t.weight <= 0 || t.weight >= 100 || len(t.stable.backends) == 0 {
		return t.choose(), nil
	}
	switch {
	case r.cookieIs(variantCookie, rs.candidate):
		return t.candidate.take(), nil
	case r.cookieIs(variantCookie, rs.stable):
		return t.stable.take(), nil
	}
	if rand.IntN(100) < t.weight {
		return t.candidate.take(), rs.setCandidate
	}
	return t.stable.take(), rs.setStable
}

// matches reports whether r has the header, cookie or query parameter m
// names with m's value.
func matches(m providers.Match, r request) bool {
	switch m.Kind {
	case providers.MatchHeader:
		return r.headerHas(m.Name, m.Value)
	case providers.MatchCookie:
		return r.cookieIs(m.Name, m.Value)
	case providers.MatchQuery:
		return queryHas(r.query(), m.Name, m.Value)
	}
	return false
}

// cookieValue is the value of the request's first cookie called name, ""
// when it has none; it reads the Cookie headers in place.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v
			}
		}
	}
	return ""
}

// queryHas reports whether the raw query holds name=value, reading it in
// place; an escaped pair is unescaped first.
func queryHas(raw, name, value string) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(pair, "%+") {
			var err1, err2 error
			k, err1 = url.QueryUnescape(k)
			v, err2 = url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				continue
			}
		}
		if k == name && v == value {
			return true
		}
	}
	return false
}

// name is the revision's ID, "" for none.
func (r *revision) name() string {
	if r == nil {
		return ""
	}
	return r.id
}

// RoutesBy says the proxy routes by header, cookie and query parameter,
// and keeps clients on their version with a cookie: the local provider is
// a providers.RequestRouter. It calls nothing.
func (p *Provider) RoutesBy(context.Context) (kinds []string, sticky bool) {
	return providers.MatchKinds, true
}
