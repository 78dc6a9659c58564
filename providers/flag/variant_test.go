package flag

import (
	"testing"

	"github.com/ramp-deploy/ramp/gates"
)

// TestVariantSelector: the README's prometheus-selector for a flag
// rollout maps the version queried to the variant label the service's
// metrics carry: the candidate's queries read variant="on", the stable
// revision's variant="off".
func TestVariantSelector(t *testing.T) {
	t.Parallel()
	tmpl, err := gates.ParseQuery("prometheus-selector", VariantSelector)
	if err != nil {
		t.Fatal(err)
	}
	for version, want := range map[string]string{"c0ffee1": `flag="checkout",variant="on"`, "checkout-at-0": `flag="checkout",variant="off"`} {
		got, err := gates.RenderQuery(tmpl, gates.QueryVars{Version: version, Candidate: "c0ffee1", Stable: "checkout-at-0", Service: "checkout", Window: "60s"})
		if err != nil || got != want {
			t.Errorf("version %s: %q (%v), want %q", version, got, err, want)
		}
	}
}
