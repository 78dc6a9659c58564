package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/gates"
	"github.com/ramp-deploy/ramp/gates/prometheus"
	"github.com/ramp-deploy/ramp/internal/config"
	fake "github.com/ramp-deploy/ramp/internal/fakes/fly"
	"github.com/ramp-deploy/ramp/providers"
	"github.com/ramp-deploy/ramp/providers/fly"
)

// TestPrometheusSumsFlyMachinesPerVersion: with metrics-source prometheus
// on the fly provider, {{.Instances}} in the selector is each version's
// machine IDs (the instance label of Fly's built-in metrics), read from
// the Machines API (the fake) when the source queries, so the candidate's
// and the stable's series are summed over their own machines.
func TestPrometheusSumsFlyMachinesPerVersion(t *testing.T) {
	t.Parallel()
	w := fake.NewWorld()
	w.CreateApp("web", "acme")
	var stable []string
	for range 2 {
		id, err := w.Launch("web", "ams", fake.Config("registry.fly.io/web:v1", "app"))
		if err != nil {
			t.Fatal(err)
		}
		stable = append(stable, id)
	}
	client, err := fly.NewClient("http://fake.invalid", "tok", fake.Doer{W: w})
	if err != nil {
		t.Fatal(err)
	}
	p, err := fly.NewWithClient(providers.Config{Service: "web", ReadyTimeout: time.Minute}, client)
	if err != nil {
		t.Fatal(err)
	}
	w.SetDelays(0, 0)
	rev, err := p.Deploy(t.Context(), providers.Artifact{Image: "registry.fly.io/web:v2", Revision: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queries []string
	prom := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		queries = append(queries, r.Form.Get("query"))
		mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": []any{}}})
	}))
	defer prom.Close()
	a := &app{env: Env{Stderr: io.Discard}, cfg: config.Config{MetricsSource: "prometheus", Prometheus: prometheus.Config{URL: prom.URL,
		Selector: `app="web",instance=~"{{.Instances}}"`, RequestsMetric: "fly_app_http_responses_count", CodeLabel: "status",
		LatencyMetric: "fly_app_http_response_time_seconds"}}}
	src, err := a.metricSource(p)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Truncate(time.Minute)
	_, _ = src.Observe(t.Context(), gates.CountQuery{Candidate: rev.ID, Stable: "v1", Window: gates.Window{Start: end.Add(-time.Minute), End: end}})
	var cand []string
	for _, m := range w.Machines("web") {
		if !slices.Contains(stable, m.ID) {
			cand = append(cand, m.ID)
		}
	}
	slices.Sort(cand)
	slices.Sort(stable)
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(queries, "\n")
	for _, want := range []string{`instance=~"` + strings.Join(cand, "|") + `"`, `instance=~"` + strings.Join(stable, "|") + `"`} {
		if !strings.Contains(all, want) {
			t.Errorf("no query selects %s; queries:\n%s", want, all)
		}
	}
	if got := instancesRegexp(nil); got != "^$" {
		t.Errorf("no instances: %q", got)
	}
}
