package flag

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-deploy/ramp/engine"
	"github.com/ramp-deploy/ramp/internal/input"
	"github.com/ramp-deploy/ramp/providers"
)

// TestValidateNamesEveryBadInput: every missing or malformed input is
// named at once, before any call, and the token's value never shows.
func TestValidateNamesEveryBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    providers.FlagTarget
		want []string // the inputs named
	}{
		{"nothing", providers.FlagTarget{}, []string{"flag", "flag-backend"}},
		{"unknown backend", providers.FlagTarget{Name: "x", Backend: "split"}, []string{"flag-backend"}},
		{"unleash", providers.FlagTarget{Name: "bad name", Backend: "unleash", URL: "ftp://x"}, []string{"flag", "flag-environment", "flag-token", "flag-url"}},
		{"launchdarkly", providers.FlagTarget{Name: "checkout", Backend: "launchdarkly", Environment: "prod/x", Token: "secret-tok"}, []string{"flag-environment", "flag-project"}},
		{"webhook", providers.FlagTarget{Name: "checkout", Backend: "webhook"}, []string{"flag-url"}},
		{"fine", providers.FlagTarget{Name: "checkout", Backend: "unleash", Environment: "production", URL: "https://u.example.com", Token: "secret-tok"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Validate(tc.f)
			var got []string
			for _, e := range input.Leaves(err) {
				var ie *input.Error
				if errors.As(e, &ie) {
					got = append(got, ie.Input)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Validate named %q, want %q (%v)", got, tc.want, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret-tok") {
				t.Errorf("the error shows the token: %v", err)
			}
			if _, nerr := New(providers.Config{Flag: tc.f}); (nerr == nil) != (tc.want == nil) {
				t.Errorf("New = %v", nerr)
			}
		})
	}
}

// TestStatusReconcilesRecordAndPercent: the revisions a reader sees come
// from the record and the flag's actual percentage together, so a
// transition stated and not made (or made by hand) shows as such.
func TestStatusReconcilesRecordAndPercent(t *testing.T) {
	t.Parallel()
	p := NewWithBackend("f", nil)
	now := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	open := providers.Rollout{ID: "r", Phase: providers.PhaseProgressing, Stable: "f-at-20", Candidate: "v2", Weight: 10,
		Lease: &providers.Lease{Holder: providers.Self(), Until: now.Add(time.Hour)}} // driven by this live process
	intent := func(r providers.Rollout, a providers.Action, rev string, w int) providers.Rollout {
		r.Intent = &providers.Intent{Action: a, Revision: rev, Weight: w}
		return r
	}
	promoted := open
	promoted.Phase, promoted.Weight, promoted.PreviousUntil = providers.PhasePromoted, 100, now.Add(time.Hour)
	rolled := open
	rolled.Phase, rolled.Weight = providers.PhaseRolledBack, 0
	for _, tc := range []struct {
		name                        string
		pct                         int
		rec                         providers.Rollout
		stable, candidate, previous string
		weight                      int
		drift                       []providers.DriftKind
	}{
		{"never rolled out", 35, providers.Rollout{}, "f-at-35", "", "", 0, nil},
		{"below the baseline the record says the weight", 20, open, "f-at-20", "v2", "", 10, nil},
		{"changed by hand", 70, open, "f-at-20", "v2", "", 70, []providers.DriftKind{providers.DriftSplit}},
		{"promotion stated, not made", 50, intent(promoted, providers.ActionPromote, "v2", 0), "f-at-20", "v2", "", 50, []providers.DriftKind{providers.DriftInterrupted}},
		{"promotion stated and made", 100, intent(promoted, providers.ActionPromote, "v2", 0), "v2", "", "f-at-20", 0, []providers.DriftKind{providers.DriftInterrupted}},
		{"promoted, window open", 100, promoted, "v2", "", "f-at-20", 0, nil},
		{"rollback stated, not made", 50, intent(rolled, providers.ActionRollback, "v2", 0), "f-at-20", "v2", "", 50, []providers.DriftKind{providers.DriftInterrupted}},
		{"rolled back", 20, rolled, "f-at-20", "", "", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw, _ := json.Marshal(tc.rec)
			st := p.statusOf(state{pct: tc.pct, rec: tc.rec, raw: string(raw)}, now)
			if revID(st.Stable) != tc.stable || revID(st.Candidate) != tc.candidate || revID(st.Previous) != tc.previous || st.Weight != tc.weight {
				t.Errorf("stable %s candidate %s previous %s weight %d, want %s %s %s %d",
					revID(st.Stable), revID(st.Candidate), revID(st.Previous), st.Weight, tc.stable, tc.candidate, tc.previous, tc.weight)
			}
			var kinds []providers.DriftKind
			for _, d := range providers.Diagnose(st, now) {
				kinds = append(kinds, d.Kind)
			}
			if !slices.Equal(kinds, tc.drift) {
				t.Errorf("drift %v, want %v", kinds, tc.drift)
			}
		})
	}
}

// hookServer is a flag service behind the webhook contract, kept in
// memory: GET reads, POST sets the percentage, PUT stores the record
// compare-and-set (409 when "previous" is not what it holds).
type hookServer struct {
	mu      sync.Mutex
	pct     int
	rec     string
	token   string
	refused int
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+h.token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var in struct {
		Flag, Environment, Record, Previous string
		Percentage                          *int
	}
	if r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Flag != "checkout" || in.Environment != "prod" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
	} else if r.URL.Query().Get("flag") != "checkout" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		_ = json.NewEncoder(w).Encode(map[string]any{"percentage": h.pct, "record": h.rec})
	case http.MethodPost:
		h.pct = *in.Percentage
	case http.MethodPut:
		if in.Previous != h.rec {
			h.refused++
			w.WriteHeader(http.StatusConflict)
			return
		}
		h.rec = in.Record
	}
}

// TestWebhookRollout runs the engine over the webhook backend: promoted,
// and a write from a stale read refused (409) as ErrStale.
func TestWebhookRollout(t *testing.T) {
	t.Parallel()
	h := &hookServer{token: "hook-tok"}
	srv := httptest.NewServer(h)
	defer srv.Close()
	f := providers.FlagTarget{Name: "checkout", Backend: "webhook", Environment: "prod", URL: srv.URL, Token: "hook-tok"}
	pv, err := New(providers.Config{Flag: f})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	read := func() int { h.mu.Lock(); defer h.mu.Unlock(); return h.pct }
	res := newEngine(pv, stepGate{}, shifts(read, &got)).Deploy(t.Context(), canary(t, 100*time.Millisecond, 25, 100),
		providers.Artifact{Image: "shop:v2", Revision: "v2"}, providers.Rollout{ID: "r1"})
	if res.Outcome != engine.OutcomePromoted || strings.Join(got, ",") != "25:25" || read() != 100 {
		t.Fatalf("outcome %s (%s, %v), shifts %v, at %d%%", res.Outcome, res.Reason, res.Err, got, read())
	}
	be := NewWebhook(f, srv.Client())
	if err := be.StoreRecord(t.Context(), "not what it holds", "{}"); !errors.Is(err, providers.ErrStale) || h.refused != 1 {
		t.Errorf("StoreRecord from a stale read = %v (%d refused)", err, h.refused)
	}
}
