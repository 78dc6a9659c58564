package providers

import (
	"context"
	"strings"
	"testing"
)

// TestParseMatchNamesEveryBadRule: good rules parse (header names
// canonicalised); every bad rule is named in one error.
func TestParseMatchNamesEveryBadRule(t *testing.T) {
	t.Parallel()
	got, err := ParseMatch([]string{"header:x-variant=b", "cookie:variant=b", " query:variant=b=c "})
	if err != nil {
		t.Fatal(err)
	}
	want := []Match{{MatchHeader, "X-Variant", "b"}, {MatchCookie, "variant", "b"}, {MatchQuery, "variant", "b=c"}}
	if len(got) != len(want) {
		t.Fatalf("parsed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rule %d = %v, want %v", i, got[i], want[i])
		}
	}
	bad := []string{"path:/beta=1", "header:X-Variant", "cookie:=b", "query:variant=", "header:X Variant=b", "cookie:v=a;b"}
	_, err = ParseMatch(bad)
	if err == nil {
		t.Fatal("bad rules parsed")
	}
	for _, b := range bad {
		if !strings.Contains(err.Error(), `"`+b+`"`) {
			t.Errorf("the error does not name %q:\n%v", b, err)
		}
	}
}

// TestCheckRoutingRefusesProvidersWithoutIt: a provider that cannot route
// by request is refused naming what it can do instead.
func TestCheckRoutingRefusesProvidersWithoutIt(t *testing.T) {
	t.Parallel()
	rt := &Routing{Match: []Match{{MatchHeader, "X-Variant", "b"}}}
	for name, want := range map[string]string{"cloudrun": "tag", "fly": "fly-force-instance-id", "ecs": "mode tasksets", "cloudflare": "no request routing"} {
		err := CheckRouting(context.Background(), nil, name, rt)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a refusal naming %q", name, err, want)
		}
	}
	if err := CheckRouting(context.Background(), nil, "cloudrun", nil); err != nil {
		t.Errorf("routing by weight refused: %v", err)
	}
}
