package report_test

import (
	"bufio"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/report"
)

// jsonLines feeds events to a JSON reporter and parses every line it wrote.
func jsonLines(t *testing.T, events []engine.Event) ([]string, []map[string]any) {
	t.Helper()
	var b strings.Builder
	j := &report.JSON{W: &b}
	for _, ev := range events {
		j.Event(ev)
	}
	var raw []string
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d does not parse: %v\n%s", len(raw)+1, err, sc.Text())
		}
		raw, objs = append(raw, sc.Text()), append(objs, m)
	}
	return raw, objs
}

func TestJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		events    []engine.Event
		wantError string // the finished result's "error"; empty for none
	}{
		{name: "promoted", events: promotedCanary()},
		{name: "rolled back", events: rolledBackCanary()},
		{name: "paused", events: pausedCanary()},
		{name: "first deploy", events: firstDeploy()},
		{name: "failed", events: failedBeforeStart(), wantError: errDenied.Error()},
		{name: "judge promoted", events: promotedWithEvidence()},
		{name: "judge rolled back", events: judgeRolledBack()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw, objs := jsonLines(t, tc.events)
			var want, got []string
			for i, ev := range tc.events {
				want = append(want, ev.Type())
				if i >= len(objs) {
					continue
				}
				got = append(got, objs[i]["type"].(string))
				if tm, want := objs[i]["time"], ev.Time().Format(time.RFC3339Nano); tm != want {
					t.Errorf("line %d: time %v, want %s", i+1, tm, want)
				}
				if n := strings.Count(raw[i], `"time":`); n != 1 {
					t.Errorf("line %d has \"time\" %d times: %s", i+1, n, raw[i])
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
			res, _ := objs[len(objs)-1]["result"].(map[string]any)
			gotErr, _ := res["error"].(string)
			if gotErr != tc.wantError {
				t.Errorf("result error = %q, want %q", gotErr, tc.wantError)
			}
			if _, ok := res["outcome"]; !ok {
				t.Errorf("finished line has no result outcome: %s", raw[len(raw)-1])
			}
		})
	}
}

func TestJSONLine(t *testing.T) {
	t.Parallel()
	at := engine.At{At: t0.Add(1500 * time.Millisecond)}
	cases := []struct {
		name string
		ev   engine.Event
		want string
	}{{
		name: "fields follow type and time",
		ev:   &engine.Shifted{At: at, From: 10, Weight: 25},
		want: `{"type":"shifted","time":"2026-01-01T12:00:01.5Z","from":10,"weight":25}`,
	}, {
		name: "no HTML escaping",
		ev:   &engine.Holding{At: at, Weight: 5, Reason: "3 requests < min-requests 10"},
		want: `{"type":"holding","time":"2026-01-01T12:00:01.5Z","weight":5,"reason":"3 requests < min-requests 10"}`,
	}, {
		name: "a NaN value becomes an encode error",
		ev:   &engine.GateChecked{At: at, Result: gates.Result{Gate: "error-rate", Value: math.NaN()}},
		want: `{"type":"gate_checked","time":"2026-01-01T12:00:01.5Z",` +
			`"encode_error":"encode gate_checked event: json: unsupported value: NaN"}`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want+"\n", string(report.Line(tc.ev))); diff != "" {
				t.Errorf("line (-want +got):\n%s", diff)
			}
		})
	}
}
