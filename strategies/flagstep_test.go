package strategies

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFlagStep: "flag" and "flag:N" in a canary's steps plan a flag step
// at the weight reached, followed by an analysis with the flag on; a flag
// entry that cannot run is refused naming steps.
func TestFlagStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw   string
		want  []Step
		error string
	}{
		{raw: "10,flag,50,100", want: []Step{
			{Kind: KindShift, Weight: 10}, {Kind: KindAnalyze, Weight: 10, Hold: time.Minute},
			{Kind: KindFlag, Weight: 10, Flag: 100}, {Kind: KindAnalyze, Weight: 10, Hold: time.Minute},
			{Kind: KindShift, Weight: 50}, {Kind: KindAnalyze, Weight: 50, Hold: time.Minute},
			{Kind: KindPromote, Weight: 100}}},
		{raw: "flag:25,100", want: []Step{
			{Kind: KindFlag, Weight: 0, Flag: 25}, {Kind: KindAnalyze, Weight: 0, Hold: time.Minute}, {Kind: KindPromote, Weight: 100}}},
		{raw: "10,flag:0,100", error: `"flag:0"`},
		{raw: "10,flag:x,100", error: "flag:N"},
		{raw: "10,100,flag", error: "before the weight 100"},
		{raw: "flag,10,flag:5,100", error: "2 flag steps"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			ts, err := ParseSteps(tc.raw)
			var plan Plan
			if err == nil {
				plan, err = New(Spec{Strategy: "canary", Steps: ts, Interval: time.Minute, FailureThreshold: 1})
			}
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) || !strings.Contains(err.Error(), `"steps"`) {
					t.Errorf("err = %v, want one naming steps saying %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, plan.Steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if got := formatSteps(ts); got != tc.raw {
				t.Errorf("written out: %q", got)
			}
		})
	}
}
