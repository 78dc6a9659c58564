package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/internal/config"
	"github.com/ramp-deploy/ramp/notify"
)

const listsFile = `service: web
checks:
  - name: p99
    query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{.Version}}"}[{{.Window}}])))
    max: 0.3
webhooks:
  - name: load-test
    type: rollout
    url: https://hooks.example.com/load
    timeout: 30s
    retries: 1
    metadata: {cmd: "hey -z 1m"}
notifications:
  - name: team
    type: slack
    url: ${SLACK_WEBHOOK_URL}
environments:
  staging:
    webhooks: []
    interval: 30s
`

// TestListSectionsAreRead: the list sections reach the rollout's gates and
// the notifications, and an environment replaces a section whole.
func TestListSectionsAreRead(t *testing.T) {
	t.Parallel()
	dir := inDir(t, map[string]string{"ramp.yaml": listsFile})
	maxP99, retries := 0.3, 1
	_, c, err := loadFile(t, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantChecks := []gates.CheckSpec{{Name: "p99", Max: &maxP99,
		Query: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{.Version}}"}[{{.Window}}])))`}}
	if d := cmp.Diff(wantChecks, c.Rollout.Gates.Checks); d != "" {
		t.Errorf("checks (-want +got):\n%s", d)
	}
	wantHooks := []gates.WebhookSpec{{Name: "load-test", Type: "rollout", URL: "https://hooks.example.com/load",
		Timeout: 30e9, Retries: &retries, Metadata: map[string]string{"cmd": "hey -z 1m"}}}
	if d := cmp.Diff(wantHooks, c.Rollout.Gates.Webhooks); d != "" {
		t.Errorf("webhooks (-want +got):\n%s", d)
	}
	wantNotes := []notify.Spec{{Name: "team", Type: "slack", URL: "${SLACK_WEBHOOK_URL}"}}
	if d := cmp.Diff(wantNotes, c.Notifications); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
	v, c, err := loadFile(t, dir, []string{"--environment", "staging"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rollout.Gates.Webhooks) != 0 || len(c.Rollout.Gates.Checks) != 1 {
		t.Errorf("staging: webhooks %v, checks %v; want the environment's empty webhooks and the top level's checks",
			c.Rollout.Gates.Webhooks, c.Rollout.Gates.Checks)
	}
	if got := strings.Join(v.File.Overrides, ","); got != "interval,webhooks" {
		t.Errorf("staging overrides %q, want interval,webhooks", got)
	}
}

// TestListSectionErrorsNameTheirPlace: every problem in a list section is
// named with its entry and file:line:column, all at once.
func TestListSectionErrorsNameTheirPlace(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "checks:\n  - name: a\n    query: up\n    maxx: 1\n",
			[]string{`ramp.yaml:4:5: input "checks[0]": unknown key "maxx"`}},
		{"wrong type", "webhooks:\n  - name: a\n    type: rollout\n    url: http://h\n    retries: two\n",
			[]string{`ramp.yaml:5:14: input "webhooks[0]"`}},
		{"every bad field", "webhooks:\n  - name: a b\n    type: pre\n    url: ftp://h\n",
			[]string{`ramp.yaml:2:11: input "webhooks[0].name"`, `ramp.yaml:3:11: input "webhooks[0].type": must be one of confirm-rollout,`,
				`ramp.yaml:4:10: input "webhooks[0].url": is not an http(s) URL`}},
		{"missing fields at the entry", "checks:\n  - name: a\n",
			[]string{`ramp.yaml:2:5: input "checks[0].query": is required`, `ramp.yaml:2:5: input "checks[0].max": a check needs max, min or both`}},
		{"min above max", "checks:\n  - {name: a, query: up, min: 2, max: 1}\n",
			[]string{`ramp.yaml:2:31: input "checks[0].min": must not exceed max (1) (value "2")`}},
		{"duplicate name", "checks:\n  - {name: a, query: up, max: 1}\n  - {name: a, query: up, max: 2}\n",
			[]string{`ramp.yaml:3:6: input "checks[1].name": is also the name of checks[0]: names must differ (value "a")`}},
		{"not a list", "notifications: {name: a}\n",
			[]string{`ramp.yaml:1:17: input "notifications": must be a list of mappings, not a mapping`}},
		{"entry not a mapping", "notifications:\n  - https://hooks.slack.com/x\n",
			[]string{`ramp.yaml:2:5: input "notifications[0]": must be a mapping, not a string`}},
		{"bad event and url", "notifications:\n  - {name: a, type: slack, url: $1, events: [done]}\n",
			[]string{`input "notifications[0].url": must be an http(s) URL, or $NAME`, `input "notifications[0].events": is not an event`}},
		{"in an environment", "environments:\n  staging:\n    checks:\n      - {name: a, query: up}\n",
			[]string{`ramp.yaml:4:10: input "checks[0].max"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := loadFile(t, inDir(t, map[string]string{"ramp.yaml": c.file}), nil, nil)
			got := leafErrors(err)
			if len(got) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i].Error(), w) {
					t.Errorf("error %d:\n%v\nwant it to contain\n%s", i, got[i], w)
				}
			}
		})
	}
}

// TestNoOptionTakesASectionName: a key is an option or a section, never
// both.
func TestNoOptionTakesASectionName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"checks", "webhooks", "notifications", "environments"} {
		if _, ok := config.Lookup(name); ok {
			t.Errorf("option %q has a section's name", name)
		}
	}
}
