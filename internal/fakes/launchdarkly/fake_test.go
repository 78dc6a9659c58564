package launchdarkly

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRefuses: the fake refuses what LaunchDarkly refuses, with its
// status, and applies nothing; the requests it takes change the flag.
func TestRefuses(t *testing.T) {
	t.Parallel()
	const sem = SemanticPatch
	for _, tc := range []struct {
		name, method, path, ctype, token, body string
		status                                 int
	}{
		{"no token", "GET", "/api/v2/flags/shop/checkout", "", "", "", 401},
		{"unknown project", "GET", "/api/v2/flags/nope/checkout", "", "tok", "", 404},
		{"unknown flag", "GET", "/api/v2/flags/shop/nope", "", "tok", "", 404},
		{"unknown environment", "GET", "/api/v2/flags/shop/checkout?env=staging", "", "tok", "", 404},
		{"no instructions", "PATCH", "/api/v2/flags/shop/checkout", sem, "tok", `{"environmentKey":"production","instructions":[]}`, 400},
		{"no environment", "PATCH", "/api/v2/flags/shop/checkout", sem, "tok", `{"instructions":[{"kind":"turnFlagOn"}]}`, 400},
		{"unknown kind", "PATCH", "/api/v2/flags/shop/checkout", sem, "tok", `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"},{"kind":"updateRollout"}]}`, 400},
		{"weights not 100000", "PATCH", "/api/v2/flags/shop/checkout", sem, "tok",
			`{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"checkout-true-id":10000,"checkout-false-id":10000}}]}`, 400},
		{"unknown variation", "PATCH", "/api/v2/flags/shop/checkout", sem, "tok",
			`{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"x":100000}}]}`, 400},
		{"semantic patch, unknown environment", "PATCH", "/api/v2/flags/shop/checkout", sem, "tok", `{"environmentKey":"staging","instructions":[{"kind":"turnFlagOn"}]}`, 404},
		{"other media type", "PATCH", "/api/v2/flags/shop/checkout", "text/plain", "tok", `{}`, 415},
		{"failed test", "PATCH", "/api/v2/flags/shop/checkout", "application/json", "tok",
			`[{"op":"test","path":"/customProperties","value":{"x":1}},{"op":"add","path":"/description","value":"y"}]`, 409},
		{"path not patchable", "PATCH", "/api/v2/flags/shop/checkout", "application/json", "tok", `[{"op":"replace","path":"/key","value":"y"}]`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := New("tok")
			w.AddFlag("shop", "checkout", "test", "production")
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", tc.token)
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			rec := httptest.NewRecorder()
			w.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, rec.Code, rec.Body, tc.status)
			}
			if w.Writes() != 0 || w.Percent("shop", "checkout", "production") != 0 {
				t.Errorf("applied: %d writes", w.Writes())
			}
		})
	}
	t.Run("applied", func(t *testing.T) {
		t.Parallel()
		w := New("tok")
		w.AddFlag("shop", "checkout", "production")
		req := httptest.NewRequest(http.MethodPatch, "/api/v2/flags/shop/checkout", strings.NewReader(
			`{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"checkout-true-id":25000,"checkout-false-id":75000}},{"kind":"turnFlagOn"}]}`))
		req.Header.Set("Authorization", "tok")
		req.Header.Set("Content-Type", SemanticPatch)
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || w.Percent("shop", "checkout", "production") != 25000 || !strings.Contains(rec.Body.String(), `"_version":2`) {
			t.Errorf("%d %s; serves %d", rec.Code, rec.Body, w.Percent("shop", "checkout", "production"))
		}
	})
}
